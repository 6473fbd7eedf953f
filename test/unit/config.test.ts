import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadConfig, resolveStateDir} from '../../src/config/load.js'
import {ConfigError, maskSecrets, validateConfig} from '../../src/config/schema.js'

const dir = mkdtempSync(join(tmpdir(), 'lnstore-config-'))
const file = (name: string, content: string) => {
  writeFileSync(join(dir, name), content)
  return join(dir, name)
}

describe('configuration', () => {
  it('fills in defaults', () => {
    const config = validateConfig({}, 'x')
    expect(config.pools).to.deep.equal([])
    expect(config.health).to.deep.include({scrubMaxAgeDays: 8, capacityWarningPercent: 80, capacityCriticalPercent: 90})
    expect(config.health.checksumBurst).to.deep.equal({errors: 10, seconds: 600})
  })

  it('reads YAML and JSON files', async () => {
    const yaml = await loadConfig(file('c.yaml', 'pools: [tank]\ndataDir: /home/bitcoin/.lightning\ndataset: tank/lightning\nhealth:\n  scrubMaxAgeDays: 15\n'))
    expect(yaml.config).to.deep.include({pools: ['tank'], dataDir: '/home/bitcoin/.lightning', dataset: 'tank/lightning'})
    expect(yaml.config.health.scrubMaxAgeDays).to.equal(15)
    const json = await loadConfig(file('c.json', '{"health": {"slowBurn": {"errors": 5}}}'))
    expect(json.config.health.slowBurn).to.deep.equal({errors: 5, days: 30})
    expect(json.source).to.equal(join(dir, 'c.json'))
  })

  it('names the bad key, and suggests the one meant', async () => {
    const error = await loadConfig(file('bad.yaml', 'health:\n  scrubMaxAge: 3\n')).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(ConfigError)
    expect((error as ConfigError).key).to.equal('health.scrubMaxAge')
    expect((error as Error).message).to.equal(`${join(dir, 'bad.yaml')}: unknown key "health.scrubMaxAge" (did you mean "health.scrubMaxAgeDays"?)`)
    expect(() => validateConfig({health: {capacityWarningPercent: '80%'}}, 'f')).to.throw(ConfigError, '"health.capacityWarningPercent" must be an integer from 1 to 100, not "80%"')
    expect(() => validateConfig({health: {capacityWarningPercent: 95}}, 'f')).to.throw(ConfigError, /must be below/)
    expect(() => validateConfig({pools: 'tank'}, 'f')).to.throw(ConfigError, '"pools" must be a list of names')
  })

  it('suggests the key meant for a slip of a letter or two, in any section (edit distance)', () => {
    const suggestion = (raw: object) => {
      try {
        validateConfig(raw, 'f')
      } catch (error) {
        return (error as Error).message
      }

      return 'accepted'
    }

    expect(suggestion({chironfs: {controlSockt: '/run/x.sock'}})).to.equal('f: unknown key "chironfs.controlSockt" (did you mean "chironfs.controlSocket"?)')
    expect(suggestion({alerts: {smtp: {passwrodFile: '/x'}}})).to.contain('(did you mean "alerts.smtp.passwordFile"?)')
    expect(suggestion({schedul: {}})).to.contain('(did you mean "schedule"?)')
    expect(suggestion({chironfs: {settleSecs: 2}})).to.contain('(did you mean "chironfs.settleSeconds"?)')
    expect(suggestion({nothingLikeIt: 1})).to.equal('f: unknown key "nothingLikeIt"')
  })

  it('refuses ChironFS replicas that are one directory written twice, or one inside another', () => {
    const replicas = (list: string[]) => () => validateConfig({mode: 'chironfs', dataDir: '/home/ln/.lightning', chironfs: {replicas: list}}, 'f')
    expect(replicas(['/x/r1', ':/x/./r1'])).to.throw(ConfigError, '"chironfs.replicas" names one directory twice ("/x/r1" and ":/x/./r1")')
    expect(replicas(['/x/r1/', ':/x/r1'])).to.throw(ConfigError, 'names one directory twice')
    expect(replicas(['/x/r1', '/x/r1'])).to.throw(ConfigError, 'names one directory twice')
    expect(replicas(['/x/r1', ':/x/r1/inner'])).to.throw(ConfigError, 'names ":/x/r1/inner", which is inside "/x/r1"')
    expect(replicas(['/x/r1', ':x/r2'])).to.throw(ConfigError, 'which is not an absolute path')
    expect(replicas(['/x/r1', ':/x/r10'])).to.not.throw()
  })

  it('says when a file asked for is missing or not parseable', async () => {
    const missing = await loadConfig(join(dir, 'nope.yaml')).catch((error: Error) => error.message)
    expect(missing).to.equal(`cannot read the config file ${join(dir, 'nope.yaml')}: it does not exist`)
    const broken = await loadConfig(file('broken.json', '{"pools": [')).catch((error: Error) => error.message)
    expect(broken).to.match(/broken\.json is not valid JSON/)
  })

  it('masks secrets wherever they are', () => {
    expect(maskSecrets({alerts: {smtp: {user: 'me', password: 'hunter2', passwordFile: '/etc/x'}}, token: 'abc', n: 1})).to.deep.equal({
      alerts: {smtp: {user: 'me', password: '********', passwordFile: '/etc/x'}},
      token: '********',
      n: 1,
    })
  })

  it('puts the state directory off the pool: config, environment, root default, user default', () => {
    const config = validateConfig({}, 'x')
    expect(resolveStateDir({...config, stateDir: '/srv/lnstore'}, {}, 0)).to.equal('/srv/lnstore')
    expect(resolveStateDir(config, {LNSTORE_STATE_DIR: '/tmp/s'}, 0)).to.equal('/tmp/s')
    expect(resolveStateDir(config, {}, 0)).to.equal('/var/lib/lnstore')
    expect(resolveStateDir(config, {XDG_STATE_HOME: '/home/u/.state'}, 1000)).to.equal('/home/u/.state/lnstore')
  })
})
