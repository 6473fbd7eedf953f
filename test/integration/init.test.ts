import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {compareTrees, describeTree} from '../../src/init/copy-tree.js'
import {parseMountInfo} from '../../src/storage/mounts.js'
import {BIN, lnstore} from '../support/cli.js'
import {waitFor} from '../support/wait.js'
import {backend, ensureZfs, LoopDevices, onlyOn, onlyOnVariant, sh, ZfsSandbox} from '../support/zfs-sandbox.js'

/**
 * `lnstore init` end to end on real pools: zfs-fuse on sparse files and loop devices, or (VM tier)
 * the OpenZFS kernel module on the VM's blank disks. The device checks that do not involve ZFS run
 * on zfs-fuse only; everything that creates, reads or refuses a pool runs on both.
 */
describe(`lnstore init on real ZFS (${backend})`, function () {
  const sandbox = new ZfsSandbox()
  const loops = new LoopDevices(sandbox.dir)
  let count = 0

  /** A fresh state directory, config path and pool name for each case. */
  function scenario() {
    const id = `${process.pid}x${count++}`
    const root = join(sandbox.dir, `case-${id}`)
    mkdirSync(root, {recursive: true})
    const pool = `lnsinit${id}`
    sandbox.adoptPool(pool)
    const env = {LNSTORE_STATE_DIR: join(root, 'state'), LNSTORE_CONFIG: join(root, 'config.yaml')}
    return {root, pool, env, init: (...args: string[]) => lnstore(['init', '--pool', pool, ...args], {env})}
  }

  const mountOf = (directory: string) => parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).findLast((mount) => mount.mountPoint === directory)
  const nobody = () => {
    const [, , uid, gid] = sh('getent', ['passwd', 'nobody']).trim().split(':')
    return {uid: Number(uid), gid: Number(gid)}
  }

  before(ensureZfs)

  after(() => {
    loops.cleanup()
    sandbox.cleanup()
  })

  it('creates a mirror for an empty data directory, mounted there and owned by the node user', () => {
    const {root, pool, env, init} = scenario()
    const dataDir = join(root, 'home', '.lightning')
    const result = init('--mirror', ...sandbox.devices(2), '--allow-files', '--data-dir', dataDir, '--user', 'nobody', '--yes', '--json')
    expect(result.status, result.stderr + result.stdout).to.equal(0)
    expect(result.json()).to.deep.include({action: 'created', pool, dataset: `${pool}/lightning`, dataDir})
    expect(mountOf(dataDir)).to.deep.include({source: `${pool}/lightning`})
    expect(statSync(dataDir).uid).to.equal(nobody().uid)
    const properties = sh('zfs', ['get', '-H', '-o', 'property,value', 'recordsize,compression,atime,dedup', `${pool}/lightning`])
    if (backend === 'kernel') {
      // OpenZFS has lz4 and stores xattrs in the inode. Values read back in each release's first
      // spelling: `acltype=posixacl` as `posix` (2.0+), and `xattr=sa` as `on` from 2.2, where `on`
      // became a synonym of `sa` (seen in the VM: 2.1.11 prints sa, 2.3.2 prints on).
      const [major, minor] = /zfs-(\d+)\.(\d+)/.exec(sh('zfs', ['version']))!.slice(1).map(Number)
      const xattr = major > 2 || (major === 2 && minor >= 2) ? 'on' : 'sa'
      expect(properties).to.equal('recordsize\t16K\ncompression\tlz4\natime\toff\ndedup\toff\n')
      expect(sh('zfs', ['get', '-H', '-o', 'property,value,source', 'xattr,acltype', `${pool}/lightning`])).to.equal(`xattr\t${xattr}\tinherited from ${pool}\nacltype\tposix\tinherited from ${pool}\n`)
      expect(result.json().notes.filter((note: string) => note.startsWith('not setting'))).to.deep.equal([])
    } else {
      // zfs-fuse has no lz4, xattr=sa or acltype: its default algorithm instead, the rest skipped with a note.
      expect(properties).to.equal('recordsize\t16K\ncompression\ton\natime\toff\ndedup\toff\n')
      expect(result.json().notes.filter((note: string) => note.startsWith('not setting'))).to.deep.equal([
        'not setting compression=lz4: this ZFS offers only on | off | lzjb | gzip | gzip-[1-9] | zle',
        'not setting xattr=sa: this ZFS offers only on | off',
        'not setting acltype=posixacl: this ZFS has no such property',
      ])
    }

    expect(sh('zpool', ['get', 'ashift', pool])).to.match(/ashift\s+12\s+local/)
    expect(readFileSync(env.LNSTORE_CONFIG, 'utf8')).to.equal(`mode: zfs\npools:\n  - ${pool}\ndataset: ${pool}/lightning\ndataDir: ${dataDir}\nnode:\n  user: nobody\n`)
    const events = JSON.parse(readFileSync(join(env.LNSTORE_STATE_DIR, 'events.json'), 'utf8'))
    expect(events[0]).to.deep.include({kind: 'pool-created', pool})

    // status now needs no flags: the config names the pool and checks the mount.
    const status = lnstore(['status', '--json'], {env}).json()
    expect(status.pools.map((entry: {name: string}) => entry.name)).to.deep.equal([pool])
    expect(status.findings).to.deep.equal([])
  })

  it('moves a populated data directory onto the pool, verified byte for byte, keeping the original', async () => {
    const {root, pool, init} = scenario()
    const dataDir = join(root, '.lightning')
    mkdirSync(join(dataDir, 'bitcoin', 'backups'), {recursive: true})
    sh('sqlite3', [join(dataDir, 'bitcoin', 'lightningd.sqlite3'), "CREATE TABLE vars (name TEXT PRIMARY KEY, val TEXT, intval INTEGER); INSERT INTO vars VALUES ('data_version', NULL, 4242);"])
    writeFileSync(join(dataDir, 'config'), 'network=bitcoin\nalias=test\n')
    writeFileSync(join(dataDir, 'bitcoin', 'hsm_secret'), Buffer.from(Array.from({length: 32}, (_, i) => i)))
    chmodSync(join(dataDir, 'bitcoin', 'hsm_secret'), 0o400)
    chmodSync(join(dataDir, 'bitcoin'), 0o700)
    chownSync(join(dataDir, 'bitcoin', 'backups'), nobody().uid, nobody().gid)
    symlinkSync('bitcoin/lightningd.sqlite3', join(dataDir, 'db-link'))
    // A unix socket left behind (the node's RPC socket): bound, then the process exits without removing it.
    sh(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(join(dataDir, 'bitcoin', 'lightning-rpc'))}, () => process.exit(0))`])
    expect(statSync(join(dataDir, 'bitcoin', 'lightning-rpc')).isSocket()).to.equal(true)
    const before = await describeTree(dataDir)

    const result = init('--mirror', ...sandbox.devices(2), '--allow-files', '--data-dir', dataDir, '--user', 'root', '--yes', '--json')
    expect(result.status, result.stderr + result.stdout).to.equal(0)
    const {originalKeptAt} = result.json()
    expect(mountOf(dataDir)).to.deep.include({source: `${pool}/lightning`})
    expect(compareTrees(before, await describeTree(dataDir))).to.deep.equal([])
    expect(compareTrees(before, await describeTree(originalKeptAt))).to.deep.equal([])
    expect(sh('sqlite3', [join(dataDir, 'bitcoin', 'lightningd.sqlite3'), "PRAGMA integrity_check; SELECT intval FROM vars WHERE name='data_version';"])).to.equal('ok\n4242\n')
    expect(existsSync(join(dataDir, 'bitcoin', 'lightning-rpc'))).to.equal(false)
    expect(existsSync(`${dataDir}.lnstore-new`)).to.equal(false)
  })

  for (const [layout, devices] of [
    ['mirror', 3],
    ['raidz1', 3],
    ['raidz2', 4],
    ['raidz3', 5],
  ] as const) {
    it(`creates a ${devices}-device ${layout}`, function () {
      if (layout !== 'raidz1' && layout !== 'raidz2') onlyOn('zfs-fuse', this, 'the layouts differ in the vdev keyword only; the VM runs raidz1 and raidz2 (and mirrors above) to keep CI within its time')
      const {root, env, init} = scenario()
      const result = init(`--${layout}`, ...sandbox.devices(devices), '--allow-files', '--data-dir', join(root, 'data'), '--user', 'root', '--yes')
      expect(result.status, result.stderr + result.stdout).to.equal(0)
      const top = lnstore(['status', '--json'], {env}).json().pools[0].vdevs[0]
      expect(top.name).to.equal(layout === 'raidz1' ? 'raidz1-0' : `${layout}-0`)
      expect(top.children).to.have.length(devices)
    })
  }

  describe('refuses, with the reason and the way out', () => {
    const refused = (result: ReturnType<typeof lnstore>, reason: string) => {
      expect(result.status, result.stderr).to.equal(2)
      expect(result.errors).to.contain(reason)
    }

    it('a device with a filesystem, unless forced', function () {
      onlyOn('zfs-fuse', this, 'a device check that does not involve ZFS')
      const {root, init} = scenario()
      const [ext4, blank] = [loops.create(96), loops.create(96)]
      sh('mkfs.ext4', ['-q', ext4])
      const args = ['--mirror', ext4, blank, '--data-dir', join(root, 'data'), '--user', 'root', '--dry-run']
      refused(init(...args), `${ext4}: is not blank: signatures ext4 → check it is the disk you mean (wipefs -n ${ext4}; lsblk ${ext4}), then add --force to erase it`)
      expect(init(...args, '--force').status).to.equal(0)
    })

    it('a mounted device, even with --force', function () {
      onlyOn('zfs-fuse', this, 'a device check that does not involve ZFS')
      const {root, init} = scenario()
      const [mounted, blank] = [loops.create(96), loops.create(96)]
      sh('mkfs.ext4', ['-q', mounted])
      const mountpoint = join(root, 'mnt')
      mkdirSync(mountpoint)
      sh('mount', [mounted, mountpoint])
      refused(init('--mirror', mounted, blank, '--data-dir', join(root, 'data'), '--user', 'root', '--dry-run', '--force'), `${mounted}: is mounted (at ${mountpoint})`)
    })

    it('a device in an imported pool, or holding an exported pool\'s label, even with --force', () => {
      const {root, init} = scenario()
      // Loop devices on zfs-fuse; on OpenZFS the VM's disks, which it partitions and names by id.
      const [inPool, exported, blank] = backend === 'kernel' ? sandbox.devices(3) : [loops.create(96), loops.create(96), loops.create(96)]
      const pool = sandbox.createPool('lnsbusy', [], [inPool])
      const old = sandbox.createPool('lnsold', [], [exported])
      sh('zpool', ['export', old.name])
      const result = init('--raidz1', inPool, exported, blank, '--data-dir', join(root, 'data'), '--user', 'root', '--dry-run', '--force')
      refused(result, `${inPool}: is part of the imported pool "${pool.name}"`)
      expect(result.errors).to.contain(`${exported}: holds a ZFS label of pool "${old.name}" (exported or destroyed) → to use that pool: zpool import ${old.name}; if its data is not needed: zpool labelclear -f ${exported}`)
    })

    it('the same disk given twice under two names, a missing one, and a much smaller one', function () {
      onlyOn('zfs-fuse', this, 'a device check that does not involve ZFS')
      const {root, init} = scenario()
      const [big, small] = [loops.create(256), loops.create(96)]
      const alias = join(root, 'alias')
      symlinkSync(big, alias)
      const result = init('--mirror', big, alias, small, join(root, 'nope'), '--data-dir', join(root, 'data'), '--user', 'root', '--dry-run')
      refused(result, `${alias}: is the same disk as ${big}, given twice`)
      expect(result.errors).to.contain(`${join(root, 'nope')}: does not exist`)
      expect(result.errors).to.match(new RegExp(`${small}: is much smaller \\(0\\.09 GiB\\) than the largest \\(0\\.25 GiB\\)`))
    })

    it('too few devices for the layout, and files without --allow-files', function () {
      onlyOn('zfs-fuse', this, 'a device check that does not involve ZFS')
      const {root, init} = scenario()
      const files = sandbox.devices(3)
      const result = init('--raidz2', ...files, '--data-dir', join(root, 'data'), '--user', 'root', '--dry-run')
      refused(result, 'a raidz2 needs at least 4 devices; 3 given')
      expect(result.errors).to.contain('is a regular file, not a disk: files are for tests and trials only → give a disk, or add --allow-files for a trial pool')
    })

    it('a data directory in use by a running process (the node)', async function () {
      onlyOn('zfs-fuse', this, 'a data directory check that does not involve ZFS')
      const {root, init} = scenario()
      const dataDir = join(root, '.lightning')
      mkdirSync(dataDir)
      writeFileSync(join(dataDir, 'config'), 'network=bitcoin\n')
      const node = spawn('sleep', ['600'], {cwd: dataDir, stdio: 'ignore'})
      try {
        await new Promise((resolve) => node.once('spawn', resolve))
        refused(init('--mirror', ...sandbox.devices(2), '--allow-files', '--data-dir', dataDir, '--user', 'root', '--yes'), `is in use by sleep (pid ${node.pid})`)
      } finally {
        node.kill()
      }
    })

    it('a run without root, and a run without a terminal or --yes', function () {
      onlyOn('zfs-fuse', this, 'a check that does not involve ZFS')
      const {root, pool, env} = scenario()
      const args = ['init', '--pool', pool, '--mirror', ...sandbox.devices(2), '--allow-files', '--data-dir', join(root, 'data'), '--user', 'root']
      const asNobody = lnstore(args, {env: {...env, HOME: '/nonexistent'}, as: nobody()})
      expect(asNobody.status).to.equal(2)
      expect(asNobody.errors).to.contain('run it as root (sudo). --dry-run shows the plan without root')
      const unconfirmed = lnstore(args, {env})
      expect(unconfirmed.status).to.equal(2)
      expect(unconfirmed.errors).to.contain('nothing was changed: lnstore asks before changing the system and there is no terminal to ask on; run again with --yes')
      expect(sh('zpool', ['list', '-H', '-o', 'name'])).not.to.contain(pool)
    })
  })

  /** Starts init and SIGKILLs it while the journal says `step` is running: a crash or power cut mid-step. */
  async function killDuring(env: NodeJS.ProcessEnv, args: string[], step: string): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'init', ...args], {env: {...process.env, ...env}, stdio: 'ignore'})
    const journal = join(env.LNSTORE_STATE_DIR!, 'runbooks', 'init.json')
    let text = ''
    await waitFor(`init's journal to show step ${step} running`, () => {
      text = existsSync(journal) ? readFileSync(journal, 'utf8') : ''
      if (child.exitCode !== null) throw new Error(`init ended (exit ${child.exitCode}) before step ${step} ran`)
      return text !== '' && JSON.parse(text).steps.some((entry: {id: string; status: string}) => entry.id === step && entry.status === 'running')
    }, {pollMs: 20, seen: () => text || 'no journal'})

    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
  }

  async function populated(root: string): Promise<{dataDir: string; before: Awaited<ReturnType<typeof describeTree>>}> {
    const dataDir = join(root, '.lightning')
    mkdirSync(join(dataDir, 'bitcoin'), {recursive: true})
    // Enough data that the copy is still running when the test kills lnstore.
    for (let i = 0; i < 6; i++) sh('dd', ['if=/dev/urandom', `of=${join(dataDir, 'bitcoin', `chunk${i}`)}`, 'bs=1M', 'count=20', 'status=none'])
    writeFileSync(join(dataDir, 'config'), 'network=bitcoin\n')
    return {dataDir, before: await describeTree(dataDir)}
  }

  it('killed mid-copy: the original is untouched, a new run is refused, and --resume finishes the job', async function () {
    onlyOnVariant('openzfs-2.1', this, 'on 2.3 the same kill is followed by --abort')
    const {root, pool, env, init} = scenario()
    const {dataDir, before} = await populated(root)
    const args = ['--pool', pool, '--mirror', ...sandbox.devices(2, 256), '--allow-files', '--data-dir', dataDir, '--user', 'root', '--yes']
    await killDuring(env, args, 'copy')
    expect(compareTrees(before, await describeTree(dataDir))).to.deep.equal([])

    const blocked = init('--mirror', ...sandbox.devices(2), '--allow-files', '--data-dir', dataDir, '--user', 'root', '--yes')
    expect(blocked.status).to.equal(2)
    expect(blocked.errors).to.contain('an earlier `lnstore init` run is not finished: it stopped at "Copy')
    expect(blocked.errors).to.contain('lnstore init --resume')

    const resumed = lnstore(['init', '--resume', '--json'], {env})
    expect(resumed.status, resumed.stdout).to.equal(0)
    expect(resumed.json().action).to.equal('resumed')
    expect(mountOf(dataDir)).to.deep.include({source: `${pool}/lightning`})
    expect(compareTrees(before, await describeTree(dataDir))).to.deep.equal([])
  })

  it('killed mid-copy, then --abort: the new pool is destroyed and the original is as it was', async function () {
    onlyOnVariant('openzfs-2.3', this, 'on 2.1 the same kill is followed by --resume')
    const {root, pool, env} = scenario()
    const {dataDir, before} = await populated(root)
    await killDuring(env, ['--pool', pool, '--mirror', ...sandbox.devices(2, 256), '--allow-files', '--data-dir', dataDir, '--user', 'root', '--yes'], 'copy')

    const aborted = lnstore(['init', '--abort', '--json'], {env})
    expect(aborted.status, aborted.stderr).to.equal(0)
    expect(aborted.json().action).to.equal('aborted')
    expect(sh('zpool', ['list', '-H', '-o', 'name'])).not.to.contain(pool)
    expect(compareTrees(before, await describeTree(dataDir))).to.deep.equal([])
    expect(existsSync(env.LNSTORE_CONFIG)).to.equal(false)
    expect(readdirSync(root).sort()).to.deep.equal(['.lightning', 'state'])
  })
})
