import {readFile, readdir, readlink} from 'node:fs/promises'
import {join} from 'node:path'

export interface ProcessUsing {
  pid: number
  command: string
}

/**
 * Processes with their working directory or an open file inside `directory` (as lsof would say),
 * read from /proc. A running lightningd holds its database open, so it is always among them.
 */
export async function processesUsing(directory: string): Promise<ProcessUsing[]> {
  const inside = (path: string) => path === directory || path.startsWith(`${directory}/`)
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => pid !== process.pid)
  const found: ProcessUsing[] = []
  for (const pid of pids) {
    const base = join('/proc', String(pid))
    // A process can exit while we look, or be out of reach: skip it rather than fail.
    const links = await Promise.all([
      readlink(join(base, 'cwd')).catch(() => ''),
      ...(await readdir(join(base, 'fd')).catch(() => [])).map((fd) => readlink(join(base, 'fd', fd)).catch(() => '')),
    ])
    if (links.some(inside)) {
      const command = (await readFile(join(base, 'comm'), 'utf8').catch(() => '?')).trim()
      found.push({pid, command})
    }
  }

  return found
}
