/**
 * ChironFS's own view of its replicas. The 1.1.1 fork answers on a UNIX socket (`--ctl SOCKET`),
 * printed by `chironctl SOCKET`; the original 1.1 release mounted a control filesystem instead
 * (`--ctl DIR`) with one directory per replica holding a `status` file: `0` good, `2` disabled
 * (a write failed there but succeeded elsewhere, so its data is inconsistent). Both are read into
 * one shape.
 */

export interface ControlReplica {
  /** The replica's position on the command line, when the output says it. */
  index: number | null
  /** As ChironFS prints it (the real path) or, for the control filesystem, the directory's name. */
  name: string
  enabled: boolean
  priority?: 'high' | 'low'
  reads?: number
  writes?: number
}

/** Reads `chironctl SOCKET` output. Lines it does not know are ignored; a replica with no status line is not reported. */
export function parseChironctl(text: string): ControlReplica[] {
  const replicas: ControlReplica[] = []
  let current: ControlReplica | null = null
  let status: string | null = null
  const flush = () => {
    if (current && status !== null) replicas.push({...current, enabled: status === 'enabled'})
  }

  for (const line of text.split('\n')) {
    const header = /^\s*\[(\d+)\]\s+(.+?)\s*$/.exec(line)
    if (header) {
      flush()
      current = {index: Number(header[1]), name: header[2], enabled: false}
      status = null
      continue
    }

    const field = /^\s*(#?\w+):\s*(\S+)\s*$/.exec(line)
    if (!current || !field) continue
    const [, key, value] = field
    if (key === 'status') status = value
    else if (key === 'priority' && (value === 'high' || value === 'low')) current.priority = value
    else if (key === '#read') current.reads = Number(value)
    else if (key === '#write') current.writes = Number(value)
  }

  flush()
  return replicas
}

/** One replica's `status` file of the 1.1 control filesystem: `0` good, `2` disabled; anything else is not understood (null). */
export function parseStatusFile(name: string, text: string): ControlReplica | null {
  const value = text.trim()
  if (value !== '0' && value !== '2') return null
  return {index: /^\d+$/.test(name) ? Number(name) : null, name, enabled: value === '0'}
}

/**
 * Which control entry is this replica's: by position when the output numbers them, else by the
 * path (the 1.1 control filesystem names each directory after its replica, with `/` replaced).
 */
export function controlEntryFor(entries: ControlReplica[], replicaPath: string, index: number): ControlReplica | undefined {
  const flattened = (path: string) => path.replace(/^\/+|\/+$/g, '').replaceAll('/', '_')
  return (
    entries.find((entry) => entry.name === replicaPath || flattened(entry.name) === flattened(replicaPath)) ??
    entries.find((entry) => entry.index === index)
  )
}
