import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {validate} from 'node-cron'

import {validateConfig} from '../../src/config/schema.js'
import {weekly} from '../../src/schedule/calendar.js'
import {renderFiles, systemdQuote, type ScheduleSpec} from '../../src/schedule/files.js'
import {BIN} from '../support/cli.js'

const root = mkdtempSync(join(tmpdir(), 'lnstore-units-'))
const paths = {systemdDir: join(root, 'system'), cronDir: join(root, 'cron.d'), zedDir: join(root, 'zed.d')}
const spec = (kind: ScheduleSpec['kind'], extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  kind,
  scrub: weekly('sun', '03:00'),
  randomDelayMinutes: 60,
  checkEverySeconds: 3600,
  command: [process.execPath, BIN],
  environment: {LNSTORE_CONFIG: '/etc/lnstore/node a.yaml'},
  zedlet: false,
  host: 'node-a',
  stateDir: '/var/lib/lnstore',
  config: validateConfig({}, 'test'),
  ...extra,
})

/** systemd's own checker; the test machine has it (scripts/test.sh installs the systemd package). */
function verify(files: {path: string; content: string}[]): string {
  const analyze = spawnSync('systemd-analyze', ['--version'])
  if (analyze.error) throw new Error('systemd-analyze is missing: install the systemd package (scripts/test.sh does)')
  for (const file of files) {
    mkdirSync(paths.systemdDir, {recursive: true})
    writeFileSync(file.path, file.content)
  }

  const result = spawnSync('systemd-analyze', ['verify', ...files.map((file) => file.path)], {encoding: 'utf8'})
  return `${result.status} ${result.stderr}`.trim()
}

describe('schedule files', () => {
  it('systemd timers and services that systemd-analyze accepts, running lnstore with the config it was installed with', async () => {
    const files = await renderFiles(spec('systemd'), paths)
    expect(files.map((file) => file.path)).to.deep.equal(['lnstore-scrub.service', 'lnstore-scrub.timer', 'lnstore-check.service', 'lnstore-check.timer'].map((unit) => join(paths.systemdDir, unit)))
    expect(verify(files)).to.equal('0')
    const [scrubService, scrubTimer, , checkTimer] = files.map((file) => file.content)
    expect(scrubService).to.contain(`\nExecStart=${process.execPath} ${BIN} scrub --wait\n`)
    expect(scrubService).to.contain('\nEnvironment="LNSTORE_CONFIG=/etc/lnstore/node a.yaml"\n')
    expect(scrubTimer).to.contain('\nOnCalendar=Sun *-*-* 03:00:00\n').and.to.contain('\nRandomizedDelaySec=60min\n').and.to.contain('\nPersistent=true\n')
    expect(checkTimer).to.contain('\nOnCalendar=*-*-* 00/1:00:00\n')
  })

  it('the monitor as one service, which systemd-analyze accepts', async () => {
    const files = await renderFiles(spec('monitor', {randomDelayMinutes: 0}), paths)
    expect(files.map((file) => file.path)).to.deep.equal([join(paths.systemdDir, 'lnstore-monitor.service')])
    expect(verify(files)).to.equal('0')
    expect(files[0].content).to.contain(` ${BIN} monitor\n`)
  })

  it('a cron.d file whose job lines parse: five time fields, the user, the command; no mail from cron', async () => {
    const [file] = await renderFiles(spec('cron', {checkEverySeconds: 600}), paths)
    expect(file.path).to.equal(join(paths.cronDir, 'lnstore'))
    const lines = file.content.split('\n').filter((line) => line !== '' && !line.startsWith('#'))
    expect(lines.filter((line) => /^[A-Z_]+=/.test(line))).to.deep.equal([
      'SHELL=/bin/sh',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'MAILTO=""',
      'LNSTORE_CONFIG=/etc/lnstore/node a.yaml',
    ])
    const jobs = lines.filter((line) => !/^[A-Z_]+=/.test(line)).map((line) => {
      const fields = line.split(/\s+/)
      return {time: fields.slice(0, 5).join(' '), user: fields[5], command: fields.slice(6).join(' ')}
    })
    expect(jobs).to.have.length(2)
    for (const job of jobs) {
      expect(validate(job.time), job.time).to.equal(true)
      expect(job.user).to.equal('root')
    }

    // cron has no random delay: this machine's fixed one (54 min, from its name) moves the minute.
    expect(jobs[0]).to.deep.equal({time: '54 3 * * 0', user: 'root', command: `${process.execPath} ${BIN} scrub --wait 2>&1 | logger -t lnstore-scrub`})
    expect(jobs[1]).to.deep.equal({time: '*/10 * * * *', user: 'root', command: `${process.execPath} ${BIN} status 2>&1 | logger -t lnstore-check`})
  })

  it('quotes words for systemd: spaces, quotes, % and $', () => {
    expect(systemdQuote('/usr/bin/node')).to.equal('/usr/bin/node')
    expect(systemdQuote('/opt/my node/run.js')).to.equal('"/opt/my node/run.js"')
    expect(systemdQuote('50%$HOME"x')).to.equal('"50%%$$HOME\\"x"')
  })
})
