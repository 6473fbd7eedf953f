import {Config} from '@oclif/core/config'
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {parseFastFlags, unsupported, type DefinedFlag, type ManifestFlag} from '../../src/cli/fast-flags.js'
import Preflight from '../../src/commands/preflight/index.js'
import Status from '../../src/commands/status.js'

/**
 * The fast entry (src/cli/fast.ts) parses `status` and `preflight` flags without oclif. Here every
 * flag the oclif manifest lists is given in each plain form, from its environment variable and
 * not at all, and the fast parser must either give exactly what oclif's own parser gives or hand
 * the command line to oclif (undefined); for the plain forms it must not hand it over.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const manifest = JSON.parse(readFileSync(`${ROOT}oclif.manifest.json`, 'utf8')) as {commands: Record<string, {flags: Record<string, ManifestFlag>; args: Record<string, unknown>}>}
const COMMANDS = {status: Status, preflight: Preflight}

interface Case {
  argv: string[]
  env?: Record<string, string>
  /** The fast parser may leave this one to oclif. */
  mayDecline?: boolean
}

function casesFor(allFlags: ManifestFlag[]): Case[] {
  // The help flag (-h, as monitoring plugins take it) shows help and exits: oclif's, in NOT_FAST below.
  const flags = allFlags.filter((flag) => flag.name !== 'help')
  const cases: Case[] = [{argv: []}]
  for (const flag of flags) {
    const value = flag.options?.[0] ?? `a value of ${flag.name} with 'quotes'`
    if (flag.type === 'boolean') {
      cases.push({argv: [`--${flag.name}`]})
      if (flag.allowNo) cases.push({argv: [`--no-${flag.name}`]})
      if (flag.char) cases.push({argv: [`-${flag.char}`]})
      if (flag.env) for (const setting of ['true', '1', 'yes', 'false', 'no', 'whatever']) cases.push({argv: [], env: {[flag.env]: setting}})
    } else {
      cases.push({argv: [`--${flag.name}`, value]}, {argv: [`--${flag.name}=${value}`]}, {argv: [`--${flag.name}`, '-']})
      if (flag.char) cases.push({argv: [`-${flag.char}`, value]})
      if (flag.multiple) cases.push({argv: [`--${flag.name}`, 'one', `--${flag.name}`, 'two']})
      // oclif reads a repeatable flag from its variable in its own way: the fast parser leaves it to oclif.
      if (flag.env) cases.push({argv: [], env: {[flag.env]: value}, mayDecline: flag.multiple})
      if (flag.env) cases.push({argv: [`--${flag.name}`, 'given'], env: {[flag.env]: value}})
    }
  }

  // Everything at once, in manifest order.
  cases.push({argv: flags.flatMap((flag) => (flag.type === 'boolean' ? [`--${flag.name}`] : [`--${flag.name}`, 'v']))})
  return cases
}

/** Forms oclif answers with help or a usage error: the fast parser must leave them all to oclif. */
const NOT_FAST = [['--help'], ['-h'], ['help'], ['--bogus'], ['-x'], ['--config'], ['--json=true'], ['--'], ['extra'], ['--config', '--json'], ['--json', '--json']]

async function oclifFlags(command: typeof Status | typeof Preflight, config: Config, argv: string[]): Promise<Record<string, unknown>> {
  const instance = new command(argv, config) as unknown as {parse(options: unknown, argv: string[]): Promise<{flags: Record<string, unknown>}>}
  return (await instance.parse(command, argv)).flags
}

function withEnv<T>(env: Record<string, string> | undefined, action: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env ?? {}).map((name) => [name, process.env[name]]))
  Object.assign(process.env, env)
  return action().finally(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
}

describe('the fast entry parses flags as oclif does (every flag in oclif.manifest.json)', () => {
  let config: Config
  const scrubbed: Record<string, string | undefined> = {}
  before(async () => {
    config = await Config.load(ROOT)
    // Variables of the flags under test, as the caller's shell may set them, are set per case only.
    for (const flag of Object.values(manifest.commands).flatMap((command) => Object.values(command.flags))) {
      if (flag.env) {
        scrubbed[flag.env] = process.env[flag.env]
        delete process.env[flag.env]
      }
    }
  })
  after(() => Object.assign(process.env, Object.fromEntries(Object.entries(scrubbed).filter(([, value]) => value !== undefined))))

  for (const [id, command] of Object.entries(COMMANDS)) {
    describe(id, () => {
      const entry = manifest.commands[id]
      const defined = {...command.baseFlags, ...command.flags} as Record<string, DefinedFlag>

      it('uses nothing the fast parser does not follow (else every run would go through oclif)', () => {
        expect(unsupported(entry.flags, entry.args)).to.equal(undefined)
      })

      it('gives what oclif gives for each flag in each plain form, from the environment and by default', async () => {
        // -h/--help (monitoring plugins' help) shows help and ends the command: 'leaves help ... to oclif' below covers it.
        const cases = casesFor(Object.values(entry.flags).filter((flag) => flag.name !== 'help'))
        expect(cases.length).to.be.greaterThan(Object.keys(entry.flags).length)
        for (const {argv, env, mayDecline} of cases) {
          const expected = await withEnv(env, () => oclifFlags(command, config, argv))
          const fast = parseFastFlags(entry.flags, defined, argv, {...env})
          const what = `${id} ${JSON.stringify(argv)} env ${JSON.stringify(env ?? {})}`
          if (fast === undefined && mayDecline) continue
          expect(fast, what).to.deep.equal(expected)
        }
      })

      it('leaves help, typos, missing values, arguments and repeats to oclif', () => {
        for (const argv of NOT_FAST) expect(parseFastFlags(entry.flags, defined, argv, {}), JSON.stringify(argv)).to.equal(undefined)
      })
    })
  }
})
