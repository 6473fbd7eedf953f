import {userInfo} from 'node:os'

/** Who is running lnstore, for the record: the sudo user behind root where there is one. */
export function operator(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.SUDO_USER || env.USER || safeUserName()
  return `${name}@${env.HOSTNAME || 'localhost'}`
}

function safeUserName(): string {
  try {
    return userInfo().username
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`
  }
}
