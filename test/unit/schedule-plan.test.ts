import {expect} from 'chai'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {validateConfig} from '../../src/config/schema.js'
import {applyPlan, type SchedulePlan} from '../../src/schedule/apply.js'
import {planInstall, planRemove} from '../../src/schedule/plan.js'
import {describeStep} from '../../src/schedule/render.js'
import type {Deps} from '../../src/system/deps.js'
import {StubRunner} from '../support/stub-runner.js'

/** Where systemd runs (not on the test machine), install and remove drive systemctl; these are the exact commands. */
describe('schedule plan where systemd runs', () => {
  const root = mkdtempSync(join(tmpdir(), 'lnstore-plan-'))
  const paths = {systemdDir: join(root, 'system'), cronDir: join(root, 'cron.d'), zedDir: join(root, 'zed.d')}
  const environment = {paths, stateDir: join(root, 'state'), systemdRunning: true, cronInstalled: true}
  const config = validateConfig({pools: ['tank']}, 'test')
  const deps = (runner: StubRunner) => ({runner, now: () => 0}) as unknown as Deps
  const install = (runner: StubRunner, kind: 'systemd' | 'monitor') => planInstall(deps(runner), {...environment, config, kind, pools: [], environment: {}})
  const commands = (plan: SchedulePlan) => plan.steps.filter((step) => step.kind === 'run').map(describeStep)
  /** Carries the plan out against a runner that expects exactly its commands (files go to the temporary root). */
  const apply = async (plan: SchedulePlan) => {
    const runner = new StubRunner()
    for (const step of plan.steps) if (step.kind === 'run') runner.expect(step.argv, {})
    await applyPlan(deps(runner), plan, environment.stateDir, () => {})
    runner.verify()
  }

  before(() => {
    mkdirSync(paths.cronDir, {recursive: true})
    mkdirSync(paths.zedDir, {recursive: true})
    writeFileSync(join(paths.cronDir, 'zfsutils-linux'), '')
  })

  it('install: reloads systemd, enables and starts the timers, signals ZED, turns off the Debian scrub', async () => {
    const runner = new StubRunner()
      .expect(['systemctl', 'is-enabled', '--quiet', 'lnstore-scrub.timer'], {exitCode: 1})
      .expect(['systemctl', 'is-enabled', '--quiet', 'lnstore-check.timer'], {exitCode: 1})
      .expect(['systemctl', 'is-active', '--quiet', 'zfs-zed.service'], {exitCode: 0})
      .expect(['zfs', 'get', '-H', '-o', 'value,source', 'org.debian:periodic-scrub', 'tank'], {stdout: '-\t-\n'})
    const plan = await install(runner, 'systemd')
    runner.verify()
    expect(commands(plan)).to.deep.equal([
      'run: systemctl daemon-reload',
      'run: systemctl enable --now lnstore-scrub.timer lnstore-check.timer',
      'run: systemctl kill --signal=HUP zfs-zed.service',
      'run: zfs set org.debian:periodic-scrub=disable tank',
    ])
    await apply(plan)
  })

  it('switching to the monitor: stops and disables the timers before their files go, starts the monitor', async () => {
    const runner = new StubRunner()
      .expect(['systemctl', 'is-enabled', '--quiet', 'lnstore-monitor.service'], {exitCode: 1})
      .expect(['zfs', 'get', '-H', '-o', 'value,source', 'org.debian:periodic-scrub', 'tank'], {stdout: 'disable\tlocal\n'})
    const plan = await install(runner, 'monitor')
    runner.verify()
    expect(plan.steps.map(describeStep).filter((step) => !step.startsWith('write') && !step.startsWith('record'))).to.deep.equal([
      'run: systemctl disable --now lnstore-scrub.timer lnstore-check.timer',
      ...['lnstore-scrub.service', 'lnstore-scrub.timer', 'lnstore-check.service', 'lnstore-check.timer'].map((unit) => `remove ${join(paths.systemdDir, unit)}`),
      'run: systemctl daemon-reload',
      'run: systemctl enable --now lnstore-monitor.service',
    ])
    await apply(plan)
  })

  it('remove: stops and disables what install enabled, reloads, restores the property (ZED, not running, is left alone)', async () => {
    const runner = new StubRunner()
      .expect(['systemctl', 'is-active', '--quiet', 'zfs-zed.service'], {exitCode: 3})
      .expect(['zfs', 'get', '-H', '-o', 'value,source', 'org.debian:periodic-scrub', 'tank'], {stdout: 'disable\tlocal\n'})
    const plan = await planRemove(deps(runner), environment)
    runner.verify()
    expect(commands(plan)).to.deep.equal(['run: systemctl disable --now lnstore-monitor.service', 'run: systemctl daemon-reload', 'run: zfs inherit org.debian:periodic-scrub tank'])
  })
})
