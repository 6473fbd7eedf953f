import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {BIN} from '../support/cli.js'
import {FIXTURES} from '../support/fixtures.js'

/**
 * bin/run.js answers plain `status` and `preflight` calls through the fast entry (src/cli/fast.ts)
 * and everything else through oclif. The same command lines run through oclif alone must give the
 * same standard output, standard error and exit code: results, errors, --json, help, usage errors.
 */
const EXECUTE = pathToFileURL(createRequire(import.meta.url).resolve('@oclif/core/execute')).href
const OCLIF_ONLY = `import {execute} from ${JSON.stringify(EXECUTE)}\nawait execute({dir: ${JSON.stringify(pathToFileURL(BIN).href)}})\n`

interface Outcome {
  status: number | null
  stdout: string
  stderr: string
}

function run(entry: string, args: string[], env: NodeJS.ProcessEnv): Outcome {
  const argv = [entry, ...args]
  const result = spawnSync(process.execPath, argv, {encoding: 'utf8', cwd: join(BIN, '..', '..'), env: {...process.env, NO_COLOR: '1', ...env}})
  // The check's own time is the one thing two runs cannot share.
  const stdout = result.stdout.replace(/"checkedAt": \d+/g, '"checkedAt": 0')
  return {status: result.status, stdout, stderr: result.stderr}
}

describe('the fast entry answers as oclif does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-fast-'))
  const config = join(dir, 'config.yaml')
  const env = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(dir, 'state')}
  const healthy = `${FIXTURES}zfs-fuse-0.7.0/mirror-healthy.txt`
  const degraded = `${FIXTURES}zfs-fuse-0.7.0/degraded-offline.txt`
  const oclifOnly = join(dir, 'oclif-only.mjs')
  before(() => {
    writeFileSync(config, 'alerts: {}\n')
    writeFileSync(oclifOnly, OCLIF_ONLY)
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  const cases: {args: string[]; env?: NodeJS.ProcessEnv}[] = [
    {args: ['status', '--input', healthy, '--json']},
    {args: ['status', '--input', degraded]},
    {args: ['status', '-i', degraded, '--no-alert', '--json']},
    {args: ['status', '--input', degraded, '--json'], env: {LNSTORE_ALERT: 'no'}},
    {args: ['status', '--input', join(dir, 'missing.txt')]},
    {args: ['status', '--input', join(dir, 'missing.txt'), '--json']},
    {args: ['status', '--input', healthy, '--config', join(dir, 'nonexistent.yaml')]},
    {args: ['status', '--help']},
    {args: ['status', '-h']},
    {args: ['status', '--bogus']},
    {args: ['status', '--input']},
    {args: ['preflight']},
    {args: ['preflight', '--json']},
    {args: ['preflight', 'extra']},
  ]

  for (const {args, env: extra} of cases) {
    it(`lnstore ${args.map((arg) => arg.replace(dir, 'DIR').replace(FIXTURES, '')).join(' ')}${extra ? ` (${JSON.stringify(extra)})` : ''}`, () => {
      const fast = run(BIN, args, {...env, ...extra})
      const oclif = run(oclifOnly, args, {...env, ...extra})
      expect(fast).to.deep.equal(oclif)
      expect(fast.stdout + fast.stderr, 'each case says something').to.not.equal('')
    })
  }
})
