import {readFileSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const FIXTURES = fileURLToPath(new URL('../fixtures/zpool-status/', import.meta.url))

/** A captured `zpool status` output, by folder (implementation-version or `public`) and file name. */
export function fixture(path: string): string {
  return readFileSync(`${FIXTURES}${path}`, 'utf8')
}

/** Every fixture with the source its folder's sources.json records for it. */
export function allFixtures(): {path: string; source: unknown}[] {
  return readdirSync(FIXTURES).flatMap((folder) => {
    const sources = JSON.parse(readFileSync(`${FIXTURES}${folder}/sources.json`, 'utf8')) as Record<string, unknown>
    return readdirSync(`${FIXTURES}${folder}`)
      .filter((file) => file !== 'sources.json' && !file.endsWith('.md'))
      .map((file) => ({path: `${folder}/${file}`, source: sources[file]}))
  })
}
