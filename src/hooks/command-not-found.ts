import type {Hook} from '@oclif/core/hooks'

/**
 * With topics separated by spaces, oclif reads `lnstore status extra` as a command `status:extra`
 * and fails with exit 2, which a monitoring system shows as CRITICAL. Words after a command are
 * that command's arguments: run the longest command the id starts with, so it judges them itself
 * (status and preflight: UNKNOWN, exit 3).
 */
const hook: Hook<'command_not_found'> = async function ({argv = [], config, id}) {
  const words = id.split(':')
  for (let length = words.length - 1; length > 0; length--) {
    const command = words.slice(0, length).join(':')
    if (!config.findCommand(command)) continue
    try {
      return await config.runCommand(command, [...words.slice(length), ...argv])
    } catch (error) {
      // oclif would show help for the whole argv, which names no command (`status extra`) and fails
      // again with exit 1; the command's own message and exit code are the answer.
      throw Object.assign(error as object, {showHelp: false})
    }
  }

  return this.error(`lnstore has no command "${words.join(' ')}"; see lnstore --help`, {exit: 2})
}

export default hook
