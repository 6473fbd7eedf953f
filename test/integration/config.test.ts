import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {lnstore} from '../support/cli.js'

describe('lnstore config show', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-config-'))

  it('prints the effective config with its source', () => {
    const file = join(dir, 'config.yaml')
    writeFileSync(file, 'pools: [tank]\nhealth:\n  scrubMaxAgeDays: 10\n')
    const result = lnstore(['config', 'show', '--json'], {env: {LNSTORE_CONFIG: file, LNSTORE_STATE_DIR: dir}})
    expect(result.status).to.equal(0)
    expect(result.json()).to.deep.include({source: file, stateDir: dir})
    expect(result.json().config.health.scrubMaxAgeDays).to.equal(10)
    expect(result.json().config.health.capacityWarningPercent).to.equal(80)
  })

  it('names the bad key and exits 1', () => {
    const file = join(dir, 'bad.json')
    writeFileSync(file, '{"health": {"capacityWarningPercent": "80%"}}')
    const result = lnstore(['config', 'show', '--config', file])
    expect(result.status).to.equal(1)
    expect(result.errors).to.contain('"health.capacityWarningPercent" must be an integer from 1 to 100, not "80%"')
    expect(result.stderr).not.to.match(/\bat \S+\.js:\d+/)
  })

  it('a broken config makes status UNKNOWN (exit 3), never a silent pass', () => {
    const file = join(dir, 'broken.yaml')
    writeFileSync(file, 'pools: [tank\n')
    const result = lnstore(['status', '--config', file])
    expect(result.status).to.equal(3)
    expect(result.errors).to.contain('is not valid YAML')
  })
})
