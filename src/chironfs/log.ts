/**
 * ChironFS's log (`--log FILE`). Each line is `YYYY/MM/DD HH:MM <what> failed accessing <replica> [<error>]`.
 * What matters: an operation that failed on a replica (`create failed accessing /r2 ...`) and the
 * replica it then disabled (`disabling replica failed accessing /r2`). At every mount it logs each
 * replica's priority in the same form (`Replica priority high failed accessing /r1`), one line per
 * replica in order; lookups of files that do not exist log such a line too. Priority lines are
 * never failures; a run of them naming every replica marks a new mount, before which earlier
 * failures no longer count (a replica comes back only through an unmount, which lnstore's heal does).
 */

export interface LogFailure {
  /** As logged: local time, minute precision. */
  at: string
  operation: string
  replica: string
  error?: string
}

export interface LogReading {
  /** Failures since the last mount, oldest first. */
  failures: LogFailure[]
  /** Replicas ChironFS disabled since the last mount and has not enabled again. */
  disabled: string[]
  /** Whether the log shows a mount at all (its priority lines). */
  mountSeen: boolean
}

const LINE = /^(\d{4}\/\d\d\/\d\d \d\d:\d\d) (.+?) failed accessing (.+)$/
const PRIORITY = /^Replica priority (high|low)$/

/** Reads the log; `replicas` are the replica paths as ChironFS resolved them (real paths), which may contain spaces. */
export function parseChironLog(text: string, replicas: string[]): LogReading {
  const known = [...replicas].sort((a, b) => b.length - a.length)
  let failures: LogFailure[] = []
  let disabled = new Set<string>()
  let mountSeen = false
  let priorityRun = new Set<string>()
  for (const line of text.split('\n')) {
    const match = LINE.exec(line.trimEnd())
    if (!match) continue
    const [, at, operation, rest] = match
    const replica = known.find((path) => rest === path || rest.startsWith(`${path} `)) ?? rest.split(' ')[0]
    const error = rest.slice(replica.length).trim()
    if (PRIORITY.test(operation)) {
      priorityRun.add(replica)
      if (known.length > 0 && known.every((path) => priorityRun.has(path))) {
        failures = []
        disabled = new Set()
        mountSeen = true
        priorityRun = new Set()
      }

      continue
    }

    priorityRun = new Set()
    if (operation === 'disabling replica') disabled.add(replica)
    else if (operation === 'enabling replica') disabled.delete(replica)
    else failures.push({at, operation, replica, ...(error ? {error} : {})})
  }

  return {failures, disabled: [...disabled], mountSeen}
}
