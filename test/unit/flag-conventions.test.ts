import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

/** The flags as oclif sees them (the manifest `npm run build` writes, which the fast start-up path reads too). */
const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../oclif.manifest.json', import.meta.url)), 'utf8')) as {
  commands: Record<string, {flags: Record<string, {name: string; char?: string; env?: string; description?: string}>}>
}
const flags = Object.entries(manifest.commands).flatMap(([command, {flags}]) => Object.values(flags).map((flag) => ({command, ...flag})))

describe('flag conventions across commands', () => {
  it('a short flag means one thing in every command (-p: the pools to check or scrub)', () => {
    const meanings = new Map<string, Set<string>>()
    for (const flag of flags) if (flag.char) meanings.set(flag.char, (meanings.get(flag.char) ?? new Set()).add(flag.name))
    for (const [char, names] of meanings) expect([...names], `-${char}`).to.have.length(1)
    expect(flags.filter((flag) => flag.char === 'p').map((flag) => flag.command).sort()).to.deep.equal(['monitor', 'scrub', 'status'])
  })

  it('an environment variable feeds one flag meaning: flags that share it share their name', () => {
    const byEnv = new Map<string, Set<string>>()
    for (const flag of flags) if (flag.env) byEnv.set(flag.env, (byEnv.get(flag.env) ?? new Set()).add(flag.name))
    for (const [env, names] of byEnv) expect([...names], env).to.have.length(1)
  })
})
