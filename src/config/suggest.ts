/**
 * The known name a mistyped one most likely meant, for "did you mean" in error messages: a case or
 * prefix slip, or a few letters off (dropped, added, swapped or wrong), as the edit distance counts
 * them. Null when nothing is close enough to be a useful guess.
 */
export function closestName(typed: string, known: string[]): string | null {
  const lower = typed.toLowerCase()
  const exact = known.find((name) => name.toLowerCase() === lower || name.startsWith(typed) || typed.startsWith(name))
  if (exact) return exact
  // Up to one slip per three letters: `controlSockt` is `controlSocket`, `log` is not `mode`.
  const limit = Math.max(1, Math.floor(typed.length / 3))
  let best: {name: string; distance: number} | null = null
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase())
    if (distance <= limit && (!best || distance < best.distance)) best = {name, distance}
  }

  return best?.name ?? null
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }

  return rows[a.length][b.length]
}
