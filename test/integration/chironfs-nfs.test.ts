/**
 * ChironFS mode with a replica on a real NFS mount. The host kernel here has no NFS client, so this
 * runs in the QEMU VM tier (server and client in one VM), which provides:
 *
 * - LNSTORE_TEST_NFS_DIR: a directory on a live NFS mount served from the same machine (its
 *   options are read from /proc/mounts);
 * - LNSTORE_TEST_NFS_STOP / LNSTORE_TEST_NFS_START: shell commands that stop and restore the NFS
 *   server (e.g. `rpc.nfsd 0` / `rpc.nfsd 8`).
 *
 * Without LNSTORE_TEST_NFS_DIR every test here is skipped with a line saying why. The chironfs
 * binary is not needed (the VM has none): these tests work on the replica directories; the one
 * that heals through a real mount also needs the real chironfs (test/support/chironfs-sandbox.ts).
 */
import {expect} from 'chai'
import {execSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {lnstoreAsync} from '../support/cli.js'
import {ChironSandbox, chironfsProblem} from '../support/chironfs-sandbox.js'
import {waitUntil} from '../support/wait.js'

const NFS_DIR = process.env.LNSTORE_TEST_NFS_DIR
const STOP = process.env.LNSTORE_TEST_NFS_STOP
const START = process.env.LNSTORE_TEST_NFS_START

/** The options of the mount holding `path`, as /proc/mounts lists them (the longest mount point containing it). */
function mountOptions(path: string): string[] {
  const entries = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')).filter((fields) => fields.length >= 4)
  const holding = entries.filter(([, point]) => path === point || path.startsWith(`${point.replace(/\/$/, '')}/`))
  const [, , type, options] = holding.sort((a, b) => b[1].length - a[1].length)[0]
  expect(type, `${path} must be on an NFS mount`).to.match(/^nfs4?$/)
  return options.split(',')
}

describe('ChironFS mode with a replica on a real NFS mount (VM tier)', function () {
  const sandbox = new ChironSandbox()
  let nfsRoot: string

  before(function () {
    if (!NFS_DIR) {
      console.log('      SKIPPED: LNSTORE_TEST_NFS_DIR is not set: these tests need a live NFS mount (the VM tier provides one; the host kernel has no NFS client)')
      this.skip()
    }

    nfsRoot = mkdtempSync(join(NFS_DIR!, 'lnstore-'))
  })

  after(() => {
    sandbox.cleanup()
    if (nfsRoot) rmSync(nfsRoot, {recursive: true, force: true})
  })

  function setup(name: string, versions: [number, number]) {
    const local = sandbox.replica(`${name}-local`)
    const nfs = join(nfsRoot, name)
    mkdirSync(nfs)
    sandbox.database(local, versions[0])
    sandbox.database(nfs, versions[1])
    const dataDir = join(sandbox.dir, `${name}-data`)
    mkdirSync(dataDir)
    return {local, nfs, config: sandbox.config(name, dataDir, [local, `:${nfs}`], {chironfs: {probeTimeoutSeconds: 3}, node: {kind: 'commands', startCommand: 'true', stopCommand: 'true'}})}
  }

  it('sees the NFS replica as NFS and judges its real mount options (hard, timeo/retrans, sync)', async () => {
    const {nfs, config} = setup('options', [4, 4])
    const options = mountOptions(nfs)
    const json = (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json()
    const replica = json.chironfs.replicas.find((entry: {path: string}) => entry.path === nfs)
    expect(replica).to.deep.include({nfs: true, verdict: 'OK'})
    expect(replica.probe).to.deep.include({reachable: true, writable: true})
    const messages: string[] = json.pools[0].findings.map((finding: {message: string}) => finding.message).filter((message: string) => message.startsWith(`replica ${nfs}:`))
    expect(messages.some((message) => /hard NFS mount/.test(message)), `options ${options}`).to.equal(!options.includes('soft') && !options.includes('softerr'))
    expect(messages.some((message) => /mounted async/.test(message)), `options ${options}`).to.equal(!options.includes('sync'))
    // The replicas are on different filesystems: no "protects nothing" warning.
    expect(json.pools[0].findings.some((finding: {message: string}) => /same filesystem/.test(finding.message))).to.equal(false)
  })

  it('an NFS replica behind: CRITICAL, and heal plans to copy the local replica over it', async () => {
    const {local, nfs, config} = setup('behind', [12, 9])
    const json = (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json()
    expect(json.chironfs.authority.authoritative).to.equal(local)
    expect(json.chironfs.replicas.find((entry: {path: string}) => entry.path === nfs).verdict).to.equal('CRITICAL')
    const plan = await lnstoreAsync(['heal', '--config', config, '--dry-run'])
    expect(plan.status, plan.stderr).to.equal(0)
    expect(plan.stdout).to.contain(`stale: ${nfs}: its database is behind (data_version 9, the newest is 12)`)
  })

  it('the NFS server stops: status does not hang, says CRITICAL (the replica does not answer) within its timeout; back when the server is', async function () {
    if (!STOP || !START) {
      console.log('      SKIPPED: LNSTORE_TEST_NFS_STOP and LNSTORE_TEST_NFS_START are needed to stop and restore the NFS server')
      this.skip()
    }

    this.timeout(300_000)
    const {nfs, config} = setup('dead', [6, 6])
    execSync(STOP!, {stdio: 'inherit'})
    let stopped = true
    try {
      const started = Date.now()
      const run = await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])
      const seconds = (Date.now() - started) / 1000
      console.log(`      (status answered in ${seconds.toFixed(1)} s with the NFS server stopped; probe timeout 3 s)`)
      expect(run.status).to.equal(2)
      const replica = run.json().chironfs.replicas.find((entry: {path: string}) => entry.path === nfs)
      expect(replica.probe.reachable).to.equal(false)
      expect(replica.verdict).to.equal('CRITICAL')
      expect(replica.findings[0].message).to.match(/^does not answer/)
      // "does not answer" is the probe's own timeout (not the NFS retry time of a hard mount); how long
      // status took is printed above, not asserted: a time limit would fail on a busy machine.
      execSync(START!, {stdio: 'inherit'})
      stopped = false
      // A soft mount answers again once the server is back (NFS may take a few retries).
      const back = await waitUntil(
        'the NFS replica answering again after the server restarted',
        async () => (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json().chironfs.replicas.find((entry: {path: string}) => entry.path === nfs),
        (replica: {probe: {reachable: boolean}; verdict: string}) => replica.probe.reachable,
        {pollMs: 2000},
      )
      expect(back.verdict).to.equal('OK')
    } finally {
      if (stopped) execSync(START!, {stdio: 'inherit'})
    }
  })

  it('with the real chironfs as well: heal copies over the NFS replica and verifies it', async function () {
    // The VM image has no libfuse2 nor ../shared/prebuilt (test/vm): on the host tier the sandbox's tests fail instead.
    const problem = chironfsProblem()
    if (problem) {
      console.log(`      SKIPPED: the real chironfs cannot run here (${problem}): the replica-only NFS tests above ran`)
      this.skip()
    }

    const {local, nfs, config} = setup('heal', [15, 11])
    const run = await lnstoreAsync(['heal', '--config', config, '--yes', '--json'])
    expect(run.status, run.stdout + run.stderr).to.equal(0)
    expect(run.json()).to.deep.include({authoritative: local, dataVersion: 15})
    const json = (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json()
    expect(json.chironfs.replicas.find((entry: {path: string}) => entry.path === nfs)).to.deep.include({dataVersion: 15, verdict: 'OK'})
  })
})
