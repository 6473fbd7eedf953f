import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {unitText} from '../../src/chironfs/init.js'
import {parseReplica} from '../../src/chironfs/replicas.js'
import {validateConfig} from '../../src/config/schema.js'
import {weekly} from '../../src/schedule/calendar.js'
import {renderFiles, type ScheduleSpec} from '../../src/schedule/files.js'
import {BIN} from '../support/cli.js'

/**
 * Every unit lnstore installs runs as root: systemd's own rating of its sandbox
 * (`systemd-analyze security --offline=true`, 0 = locked down, 10 = none) must be 5.0 or better.
 * The preflight drop-in is not rated: it joins the node's own unit, and its `+` line runs outside
 * that unit's sandbox by design (it must read ZFS whatever User= the node has).
 */
const MAX_EXPOSURE = 5

const root = mkdtempSync(join(tmpdir(), 'lnstore-exposure-'))
const paths = {systemdDir: join(root, 'system'), cronDir: join(root, 'cron.d'), zedDir: join(root, 'zed.d')}
const zfsConfig = validateConfig({pools: ['tank'], dataDir: '/var/lib/lightningd/.lightning', dataset: 'tank/lightning'}, 'test')
const chironfsConfig = validateConfig({mode: 'chironfs', dataDir: '/home/bitcoin/.lightning', chironfs: {replicas: ['/srv/replica-a', ':/mnt/nfs/replica-b']}}, 'test')
const spec = (kind: ScheduleSpec['kind'], config = zfsConfig): ScheduleSpec => ({
  kind,
  scrub: weekly('sun', '03:00'),
  randomDelayMinutes: 60,
  checkEverySeconds: 3600,
  command: [process.execPath, BIN],
  environment: {},
  zedlet: false,
  host: 'node-a',
  stateDir: '/var/lib/lnstore',
  config,
})

/** The overall exposure systemd-analyze gives the unit file at `path`, with its table when it fails. */
function exposure(path: string): {score: number; table: string} {
  const result = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', path], {encoding: 'utf8'})
  if (result.error) throw new Error('systemd-analyze is missing: install the systemd package (scripts/test.sh does)')
  const match = /Overall exposure level for \S+: (\d+\.\d)/.exec(result.stdout)
  if (!match) throw new Error(`systemd-analyze security printed no rating for ${path} (exit ${result.status}): ${result.stderr}${result.stdout}`)
  return {score: Number(match[1]), table: result.stdout}
}

function rate(dir: string, files: {path: string; content: string}[]): {unit: string; score: number; table: string}[] {
  mkdirSync(dir, {recursive: true})
  return files
    .filter((file) => file.path.endsWith('.service'))
    .map((file) => {
      const path = join(dir, file.path.split('/').pop()!)
      writeFileSync(path, file.content)
      return {unit: path.slice(root.length + 1), ...exposure(path)}
    })
}

describe('the sandbox of every unit lnstore installs (systemd-analyze security --offline=true)', () => {
  const cases: [string, () => Promise<{path: string; content: string}[]>][] = [
    ['mode zfs, timers: check and scrub', () => renderFiles(spec('systemd'), paths)],
    ['mode zfs, the monitor service', () => renderFiles(spec('monitor'), paths)],
    ['mode chironfs, timers: check and scrub', () => renderFiles(spec('systemd', chironfsConfig), paths)],
    ['mode chironfs, the monitor service', () => renderFiles(spec('monitor', chironfsConfig), paths)],
    [
      'the ChironFS mount',
      async () => [
        {
          path: 'lnstore-chironfs.service',
          content: await unitText({binary: '/usr/bin/chironfs', replicas: chironfsConfig.chironfs.replicas.map(parseReplica), mountpoint: '/home/bitcoin/.lightning', controlSocket: '/run/lnstore/chironfs.sock', log: '/var/log/lnstore/chironfs.log'}, 'lightningd.service'),
        },
      ],
    ],
  ]

  for (const [name, render] of cases) {
    it(`${name}: exposure at most ${MAX_EXPOSURE.toFixed(1)}`, async () => {
      const rated = rate(join(root, name.replaceAll(/\W+/g, '-')), await render())
      expect(rated).to.not.be.empty
      for (const {unit, score, table} of rated) {
        console.log(`      exposure ${score.toFixed(1)}  ${unit}`)
        expect(score, `${unit}:\n${table}`).to.be.at.most(MAX_EXPOSURE)
      }
    })
  }

  it('the timers write only the state directory; mode chironfs adds its replicas, and nothing else', async () => {
    const [scrub] = await renderFiles(spec('systemd'), paths)
    expect(scrub.content.match(/^ReadWritePaths=.*$/gm)).to.deep.equal(['ReadWritePaths=/var/lib/lnstore'])
    const chironfs = (await renderFiles(spec('systemd', chironfsConfig), paths))[0]
    expect(chironfs.content.match(/^ReadWritePaths=.*$/gm)).to.deep.equal([
      'ReadWritePaths=/var/lib/lnstore',
      'ReadWritePaths=-/srv/replica-a',
      'ReadWritePaths=-/mnt/nfs/replica-b',
      'ReadWritePaths=-/home/bitcoin/.lightning',
      'ReadWritePaths=-/var/log/lnstore',
      'ReadWritePaths=-/run/lnstore',
    ])
  })
})
