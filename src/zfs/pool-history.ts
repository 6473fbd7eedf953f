/**
 * Reads `zpool history -il` for the commands that throw away recent writes: a dataset rolled back
 * to a snapshot, a pool imported with rewind (`-F`, `-X`, `-T`), a pool rewound to its checkpoint.
 * After any of these the node's data may be older than what it last wrote.
 */

export interface HistoryEntry {
  /** Epoch ms, from zpool's local-time stamp. */
  at: number
  command: string
}

export interface DiscardEvent extends HistoryEntry {
  why: string
}

/** Parses the command lines of `zpool history -il` (internal events are skipped: the commands say what happened). */
export function parsePoolHistory(text: string): HistoryEntry[] {
  const entries: HistoryEntry[] = []
  for (const line of text.split('\n')) {
    const match = /^(\d{4})-(\d{2})-(\d{2})\.(\d{2}):(\d{2}):(\d{2}) (?!\[internal)(.+?)(?: \[user .*\])?$/.exec(line)
    if (!match) continue
    const [, year, month, day, hours, minutes, seconds, command] = match
    entries.push({at: new Date(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds)).getTime(), command})
  }

  return entries
}

/** The entries that discard writes to `dataset` (or its pool as a whole). */
export function discardingEvents(entries: HistoryEntry[], dataset: string): DiscardEvent[] {
  const pool = dataset.split('/')[0]
  const touches = (name: string) => name === dataset || dataset.startsWith(`${name}/`) || name.startsWith(`${dataset}/`)
  const events: DiscardEvent[] = []
  for (const entry of entries) {
    const words = entry.command.split(/\s+/)
    if (words[0] === 'zfs' && words[1] === 'rollback') {
      const target = words.slice(2).find((word) => word.includes('@'))?.split('@')[0]
      if (target && touches(target)) events.push({...entry, why: `${target} was rolled back to a snapshot`})
    } else if (words[0] === 'zpool' && words[1] === 'import' && words.includes(pool)) {
      if (words.some((word) => /^-[A-Za-z]*[FXT]/.test(word) || word.startsWith('--rewind'))) {
        events.push({...entry, why: `${pool} was imported with rewind, discarding its last transactions`})
      }
    }
  }

  return events
}
