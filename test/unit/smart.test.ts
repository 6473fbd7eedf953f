import {expect} from 'chai'
import {readFileSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {runShortSelfTest, selfTestState, type SmartctlJson} from '../../src/devices/smart.js'
import {systemDeps} from '../../src/system/deps.js'
import {StubRunner} from '../support/stub-runner.js'

const FOLDER = fileURLToPath(new URL('../fixtures/smartctl/', import.meta.url))
const captured = (file: string): SmartctlJson => JSON.parse(readFileSync(`${FOLDER}${file}`, 'utf8'))

describe('SMART self-test: reading smartctl -j', () => {
  it('has a source for every captured output', () => {
    const sources = JSON.parse(readFileSync(`${FOLDER}sources.json`, 'utf8'))
    for (const file of readdirSync(FOLDER).filter((name) => name !== 'sources.json')) expect(sources, file).to.have.property(file)
  })

  it('reads real outputs: running, passed, health failed, and devices it cannot test', () => {
    expect(selfTestState(captured('ata-self-test-in-progress.json'))).to.deep.equal({kind: 'running', remainingPercent: 10})
    expect(selfTestState(captured('ata-self-test-passed.json'))).to.deep.equal({kind: 'passed', detail: 'completed without error'})
    expect(selfTestState(captured('ata-health-failed.json'))).to.deep.equal({kind: 'failed', detail: 'the SMART overall-health self-assessment says FAILED'})
    expect(selfTestState(captured('open-failed.json'))).to.have.property('kind', 'unsupported')
    expect(selfTestState(captured('loop-device-smartctl-7.3.json'))).to.deep.equal({kind: 'unsupported', detail: '/dev/loop0: Unable to detect device type'})
    expect(selfTestState(captured('nvme-smartctl-7.1-no-self-test-log.json'))).to.deep.equal({kind: 'unsupported', detail: 'smartctl reports no self-test for this NVMe device'})
  })

  // The shapes below are what smartmontools' ataprint.cpp and nvmeprint.cpp write for these states.
  it('fails a test that ended with an error or was aborted, and reads NVMe self-test logs', () => {
    expect(selfTestState({ata_smart_data: {self_test: {status: {value: 121, string: 'completed with error (read test element)', passed: false}}}})).to.deep.equal({kind: 'failed', detail: 'the self-test completed with error (read test element)'})
    expect(selfTestState({ata_smart_data: {self_test: {status: {value: 16, string: 'was aborted by the host'}}}})).to.deep.equal({kind: 'failed', detail: 'the self-test was aborted by the host'})
    const running = {nvme_self_test_log: {current_self_test_operation: {value: 1, string: 'Short self-test in progress'}, current_self_test_completion_percent: 40}}
    expect(selfTestState(running)).to.deep.equal({kind: 'running', remainingPercent: 60})
    const failed = {nvme_self_test_log: {current_self_test_operation: {value: 0}, table: [{self_test_code: {value: 1}, self_test_result: {value: 7, string: 'Completed: failed segments'}}]}}
    expect(selfTestState(failed)).to.deep.equal({kind: 'failed', detail: 'the self-test: Completed: failed segments'})
  })
})

describe('SMART self-test: following a test', () => {
  const json = (value: SmartctlJson) => ({stdout: JSON.stringify(value), exitCode: 0})
  const bounded = {timeoutMs: 60_000}
  const status = (value: number, extra: object) => json({device: {protocol: 'ATA'}, smart_status: {passed: true}, ata_smart_data: {self_test: {status: {value, ...extra}}}})

  it('starts a short test, reports progress, and returns the verdict', async () => {
    const runner = new StubRunner()
      .expect(['smartctl', '-j', '-H', '-c', '/dev/sdd'], status(0, {string: 'completed without error', passed: true}), bounded)
      .expect(['smartctl', '-j', '-t', 'short', '/dev/sdd'], json({}), bounded)
      .expect(['smartctl', '-j', '-H', '-c', '/dev/sdd'], status(249, {string: 'in progress, 90% remaining', remaining_percent: 90}), bounded)
      .expect(['smartctl', '-j', '-H', '-c', '/dev/sdd'], status(114, {string: 'completed with error (read test element)', passed: false}), bounded)
    const messages: string[] = []
    const outcome = await runShortSelfTest({...systemDeps, runner}, '/dev/sdd', (message) => messages.push(message), {pollMs: 1})
    runner.verify()
    expect(messages).to.deep.equal(['SMART short self-test of /dev/sdd: 90% to go'])
    expect(outcome).to.deep.equal({device: '/dev/sdd', result: 'failed', detail: 'the self-test completed with error (read test element)'})
  })

  it('skips, saying why, when smartctl is missing or the device has no SMART', async () => {
    const missing = new StubRunner().expect(['smartctl', '-j', '-H', '-c', '/dev/sdd'], {exitCode: 127, stderr: 'smartctl: command not found'}, bounded)
    expect(await runShortSelfTest({...systemDeps, runner: missing}, '/dev/sdd', () => {})).to.deep.equal({device: '/dev/sdd', result: 'skipped', detail: 'smartctl is not installed (apt install smartmontools)'})
    const loop = new StubRunner().expect(['smartctl', '-j', '-H', '-c', '/dev/loop0'], {exitCode: 1, stdout: readFileSync(`${FOLDER}loop-device-smartctl-7.3.json`, 'utf8')}, bounded)
    expect(await runShortSelfTest({...systemDeps, runner: loop}, '/dev/loop0', () => {})).to.deep.equal({device: '/dev/loop0', result: 'skipped', detail: '/dev/loop0: Unable to detect device type'})
  })
})
