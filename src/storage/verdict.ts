/** Verdicts every storage backend gives, in the words of monitoring plugins (Nagios/Icinga). */
export type Verdict = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN'

/** One reason for a verdict, in words an operator acts on, with the command to run next. */
export interface Finding {
  verdict: Verdict
  message: string
  next?: string
}

const RANK: Record<Verdict, number> = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}

/** The worse of verdicts, as monitoring systems aggregate them: CRITICAL > UNKNOWN > WARNING > OK. */
export function worst(verdicts: Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((a, b) => (RANK[b] > RANK[a] ? b : a), 'OK')
}
