import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'

import {lnstore} from '../support/cli.js'
import {backend, ensureZfs, onlyOn, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

/** `lnstore status` end to end, as a user runs it, against real pools. */
describe(`lnstore status on real ZFS (${backend})`, function () {
  const sandbox = new ZfsSandbox()
  const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-state-'))
  const env = {LNSTORE_STATE_DIR: stateDir, LNSTORE_CONFIG: join(stateDir, 'config.json')}
  const status = (...args: string[]) => lnstore(['status', ...args], {env})
  /** The vdev for a device as the test created it: zfs-fuse prints the file's path, OpenZFS the by-id name's last part. */
  const device = (result: any, pool: string, given: string) => {
    const walk = (vdevs: any[]): any[] => vdevs.flatMap((vdev) => [vdev, ...walk(vdev.children)])
    const vdevs = walk(result.pools.find((entry: any) => entry.name === pool).vdevs)
    return vdevs.find((vdev: any) => vdev.name === given || vdev.name === basename(given) || vdev.path === given || vdev.path === `${given}-part1`)
  }

  /** How zpool names a device in its output (and so in lnstore's messages). */
  const printed = (pool: string, given: string) => device(status('--pool', pool, '--json').json(), pool, given).name

  let mirror: PoolHandle

  before(async () => {
    await ensureZfs()
    writeFileSync(env.LNSTORE_CONFIG, '{}')
    mirror = sandbox.createPool('lnsmirror', ['mirror'], sandbox.devices(2))
    sandbox.fill(mirror, 40)
  })

  after(() => sandbox.cleanup())

  it('a healthy, scrubbed mirror is OK: exit 0', async () => {
    await sandbox.scrub(mirror)
    const result = status('--pool', mirror.name, '--json')
    expect(result.status, result.stderr).to.equal(0)
    const json = result.json()
    expect(json.verdict).to.equal('OK')
    expect(json.pools[0]).to.deep.include({name: mirror.name, state: 'ONLINE', read: 0, write: 0, cksum: 0})
    expect(json.pools[0].scan).to.include({kind: 'scrub', state: 'finished', errors: 0})
    expect(json.pools[0].capacityPercent).to.be.a('number')
    expect(json.pools[0].vdevs[0]).to.include({name: 'mirror-0', role: 'data', state: 'ONLINE'})

    const human = status('--pool', mirror.name)
    expect(human.status).to.equal(0)
    expect(human.stdout).to.match(new RegExp(`pool ${mirror.name} {2}ONLINE {2}OK`))
  })

  it('a corrupted device found by a scrub: its errors, its rate, CRITICAL at ZFS\'s fault threshold', async () => {
    const [victim] = mirror.devices
    status('--pool', mirror.name) // the baseline sample: no errors
    sandbox.corrupt(mirror, victim)
    await sandbox.scrub(mirror)
    const result = status('--pool', mirror.name, '--json')
    const json = result.json()
    const damaged = device(json, mirror.name, victim)
    expect(damaged.cksum, JSON.stringify(damaged)).to.be.greaterThan(10)
    expect(damaged.rates).to.include({lastHour: damaged.cksum, lastDay: damaged.cksum})
    expect(damaged.verdict).to.equal('CRITICAL')
    expect(damaged.findings[0].message).to.match(new RegExp(`^${damaged.cksum} checksum errors within \\S+ \\(ZFS's own fault threshold is 10 in 10m\\): the device is failing`))
    // Run as printed (a new device filled in), it is accepted: a trial pool on files; the failing disk stays in the pool while it is replaced, so nothing to acknowledge.
    expect(damaged.findings[0].next).to.equal(`lnstore replace-disk ${damaged.name} <new-device>${backend === 'kernel' ? '' : ' --allow-files'}`)
    expect(device(json, mirror.name, mirror.devices[1]).verdict).to.equal('OK')
    expect(json.verdict).to.equal('CRITICAL')
    expect(result.status).to.equal(2)
    expect(json.pools[0].scan.repairedBytes).to.be.greaterThan(0)

    // After `zpool clear` the counters reset: no negative errors and no burst any more, but the
    // history still holds the errors, and that many in a month says to plan a replacement.
    sh('zpool', ['clear', mirror.name])
    const cleared = device(status('--pool', mirror.name, '--json').json(), mirror.name, victim)
    expect(cleared).to.include({cksum: 0, verdict: 'CRITICAL'})
    expect(cleared.rates.lastDay).to.equal(damaged.cksum)
    expect(cleared.findings.map((finding: any) => finding.message)).to.deep.equal([`${damaged.cksum} errors over the last 30 days: plan a replacement before it fails outright`])
  })

  it('an offline member of a two-way mirror: no redundant copy left, CRITICAL, exit 2', () => {
    const offline = printed(mirror.name, mirror.devices[1])
    sh('zpool', ['offline', mirror.name, offline])
    try {
      const result = status('--pool', mirror.name, '--json')
      expect(result.status).to.equal(2)
      const json = result.json()
      expect(json.pools[0].state).to.equal('DEGRADED')
      expect(json.pools[0].findings.map((finding: any) => finding.message)).to.include(`mirror-0 has no redundant copy left (${offline} missing): one more failure loses data`)
      expect(device(json, mirror.name, mirror.devices[1])).to.include({state: 'OFFLINE', verdict: 'WARNING'})
      // The first line as a monitoring plugin prints it: verdict, the reason, then performance data.
      const firstLine = status('--pool', mirror.name, '--no-alert').stdout.split('\n')[0]
      expect(firstLine).to.match(new RegExp(`^CRITICAL: ${mirror.name}: (.*, )?mirror-0 has no redundant copy left \\(${offline.replaceAll('/', '\\/')} missing\\) \\| '${mirror.name}_capacity'=\\d+%;;;0;100 '${mirror.name}_device_errors'=\\d+;;;0 '${mirror.name}_data_errors'=0;;;0$`))
    } finally {
      sh('zpool', ['online', mirror.name, offline])
    }
  })

  it('raidz2 with one device offline survives one more failure: WARNING, exit 1', async () => {
    const raidz = sandbox.createPool('lnsraidz', ['raidz2'], sandbox.devices(4))
    await sandbox.scrub(raidz)
    const offline = printed(raidz.name, raidz.devices[0])
    sh('zpool', ['offline', raidz.name, offline])
    const result = status('--pool', raidz.name, '--json')
    expect(result.status).to.equal(1)
    const messages = result.json().pools[0].findings.map((finding: any) => finding.message)
    expect(messages).to.include(`raidz2-0 has lost redundancy (${offline} missing) and survives 1 more failure`)
  })

  it('writes node_exporter metrics on every outcome, and a failed write never hides the verdict', () => {
    const file = join(stateDir, 'lnstore.prom')
    const ok = status('--pool', mirror.name, '--prometheus', file)
    let metrics = readFileSync(file, 'utf8')
    expect(metrics).to.match(/^lnstore_check_success 1$/m)
    expect(metrics).to.contain(`lnstore_pool_state{zpool="${mirror.name}",state="online"} 1\n`)
    expect(metrics).to.contain(`lnstore_pool_state{zpool="${mirror.name}",state="degraded"} 0\n`)
    expect(metrics).to.match(new RegExp(`^lnstore_pool_size_bytes\\{zpool="${mirror.name}"\\} [1-9]\\d+$`, 'm'))
    expect(metrics).to.contain(`lnstore_verdict{verdict="${ok.stdout.split(':')[0].toLowerCase()}"} 1\n`)

    // The check fails (no zpool): the file says so instead of keeping the last verdict.
    const failed = lnstore(['status', '--pool', mirror.name, '--prometheus', file], {env: {...env, PATH: '/nonexistent'}})
    expect(failed.status).to.equal(3)
    metrics = readFileSync(file, 'utf8')
    expect(metrics).to.match(/^lnstore_check_success 0$/m)
    expect(metrics).to.contain('lnstore_verdict{verdict="unknown"} 1\n')
    expect(metrics).not.to.contain('lnstore_pool_state')

    // The file cannot be written: the verdict is still on stdout and in the exit code, the failure on stderr.
    const unwritable = status('--pool', mirror.name, '--prometheus', join(stateDir, 'no-such-dir', 'lnstore.prom'))
    expect(unwritable.status).to.equal(ok.status)
    expect(unwritable.stdout.split('\n')[0]).to.equal(ok.stdout.split('\n')[0])
    expect(unwritable.errors).to.contain(`cannot write the Prometheus metrics to ${join(stateDir, 'no-such-dir', 'lnstore.prom')}`)
  })

  it('CRITICAL when the node data directory is not the mounted dataset', () => {
    const dataDir = join(sandbox.dir, 'lightning')
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, `${mirror.name}/lightning`])
    const config = {dataDir, dataset: `${mirror.name}/lightning`, pools: [mirror.name]}
    writeFileSync(env.LNSTORE_CONFIG, JSON.stringify(config))
    try {
      const mounted = status('--json').json()
      expect(mounted.findings).to.deep.equal([])
      sh('zfs', ['unmount', `${mirror.name}/lightning`])
      const unmounted = status('--json')
      expect(unmounted.status).to.equal(2)
      expect(unmounted.json().findings[0]).to.deep.include({verdict: 'CRITICAL', next: 'zpool import -a; zfs mount -a'})
    } finally {
      writeFileSync(env.LNSTORE_CONFIG, '{}')
    }
  })

  it('a configured pool that is not imported is CRITICAL with the import command, and the data directory is still checked', () => {
    const pool = sandbox.createPool('lnsexported', [], sandbox.devices(1))
    const dataDir = join(sandbox.dir, 'lightning-exported')
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, `${pool.name}/lightning`])
    writeFileSync(env.LNSTORE_CONFIG, JSON.stringify({dataDir, dataset: `${pool.name}/lightning`, pools: [pool.name, mirror.name]}))
    sh('zpool', ['export', pool.name])
    try {
      const result = status('--json', '--no-alert')
      expect(result.status, result.stderr).to.equal(2)
      const json = result.json()
      expect(json.findings).to.deep.include({
        verdict: 'CRITICAL',
        message: `pool ${pool.name} (in the config) is not imported: the node's data on it is neither reachable nor protected`,
        next: `zpool import ${pool.name}   (if \`zpool import\` does not list it, its disks are missing: check cables and power)`,
      })
      expect(json.findings.map((finding: any) => finding.message)).to.include(
        `the node data directory ${dataDir} is not a mount point: dataset ${pool.name}/lightning is not mounted there, so the node would write to the root filesystem`,
      )
      // The pool that is imported is still read and judged.
      expect(json.pools.map((entry: any) => entry.name)).to.deep.equal([mirror.name])
      // The data directory's advice (the start gate's too), run as printed, brings it back without an
      // error (only told where the sandbox's devices are: `zpool import` looks in /dev by itself).
      const mountAdvice = json.findings.find((finding: any) => finding.message.startsWith(`the node data directory ${dataDir}`)).next
      const ran = spawnSync('bash', ['-c', mountAdvice.replace('zpool import -a', `zpool import -d ${backend === 'kernel' ? '/dev/disk/by-id' : sandbox.dir} -a`)], {encoding: 'utf8'})
      expect(ran.status, `${mountAdvice}: ${ran.stderr}`).to.equal(0)
      expect(status('--json', '--no-alert').json().findings.map((finding: any) => finding.message)).to.not.include(
        `the node data directory ${dataDir} is not a mount point: dataset ${pool.name}/lightning is not mounted there, so the node would write to the root filesystem`,
      )
    } finally {
      writeFileSync(env.LNSTORE_CONFIG, '{}')
      if (spawnSync('zpool', ['list', pool.name]).status !== 0) sandbox.importPool(pool.name)
    }
  })

  it('permanent errors name the damaged files in the text output, and the channel database as such', async function () {
    onlyOn('zfs-fuse', this, "the sandbox's corruption on the kernel module zeroes a disk's whole data area, which takes a single-disk pool's metadata too; the reader is unit-tested on OpenZFS's own -v output")
    const pool = sandbox.createPool('lnsperm', [], sandbox.devices(1))
    const dataDir = join(pool.mountpoint, 'lightning')
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, `${pool.name}/lightning`])
    sh('mkdir', ['-p', join(dataDir, 'bitcoin')])
    const database = join(dataDir, 'bitcoin', 'lightningd.sqlite3')
    sh('dd', ['if=/dev/urandom', `of=${database}`, 'bs=1M', 'count=40', 'conv=fsync', 'status=none'])
    sandbox.corrupt(pool, pool.devices[0])
    await sandbox.scrub(pool)
    sh('cat', [database], {allowFailure: true}) // reading the damaged blocks records them in the error log too

    const result = status('--pool', pool.name, '--no-alert')
    expect(result.status, result.stderr).to.equal(2)
    expect(result.stdout).to.match(new RegExp(`CRITICAL +permanent data errors in \\d+ files?: [^\\n]*${database.replaceAll('/', '\\/')}`))
    expect(result.stdout).to.contain(`${database} is the node's channel database, and it is damaged. ZFS's advice to "restore the file from backup" is exactly the hazard here`)
    expect(result.stdout).to.contain('do not copy any older database over it')
    const json = status('--pool', pool.name, '--json', '--no-alert').json()
    expect(json.pools[0].errors.files).to.include(database)
  })

  it('UNKNOWN (exit 3) with a clear message: a pool that does not exist, zpool missing', () => {
    const missingPool = status('--pool', 'no-such-pool')
    expect(missingPool.status).to.equal(3)
    expect(missingPool.errors).to.contain("cannot open 'no-such-pool': no such pool")
    expect(missingPool.errors).to.contain('zpool list')

    const noZpool = lnstore(['status', '--json'], {env: {...env, PATH: '/nonexistent'}})
    expect(noZpool.status).to.equal(3)
    expect(noZpool.json()).to.deep.include({verdict: 'UNKNOWN'})
    expect(noZpool.json().error.message).to.contain('zpool is not installed')
  })

  it('reads saved output from standard input, exactly as from zpool', () => {
    const saved = sh('zpool', ['status', mirror.name])
    const fromInput = lnstore(['status', '--input', '-', '--json'], {env, input: saved})
    expect(fromInput.json().source).to.deep.equal({from: 'input', dialect: 'text', input: '-'})
    expect(fromInput.json().pools[0].name).to.equal(mirror.name)
  })
})
