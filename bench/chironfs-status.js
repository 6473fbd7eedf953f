// `lnstore status` in mode chironfs, for the benchmark beside ZFS mode: a real ChironFS mount over
// two tmpfs replicas holding a node database, once with every replica healthy and once with one
// that ChironFS disabled after a failed write (behind). Returns the commands to time and a cleanup;
// null (with the reason printed) when the real chironfs is not there.
// The binary: ../shared/prebuilt/chironfs/chironfs beside the project, or LNSTORE_CHIRONFS_BIN.
import Database from 'better-sqlite3'
import {execFileSync, spawnSync} from 'node:child_process'
import {accessSync, constants, mkdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {mountCommand} from '../dist/chironfs/mount.js'
import {parseReplica} from '../dist/chironfs/replicas.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export function chironfsStatusCommands(work, bin) {
  const binary = resolve(ROOT, process.env.LNSTORE_CHIRONFS_BIN || '../shared/prebuilt/chironfs/chironfs')
  try {
    accessSync(binary, constants.X_OK)
  } catch {
    console.log(`(mode chironfs not measured: ${binary} is missing; set LNSTORE_CHIRONFS_BIN)`)
    return null
  }

  const mounted = []
  const setup = (name, disableOne) => {
    const dir = join(work, `chironfs-${name}`)
    const replicas = ['r1', 'r2'].map((replica) => join(dir, replica))
    const dataDir = join(dir, 'data')
    for (const path of [...replicas, dataDir]) mkdirSync(path, {recursive: true})
    for (const replica of replicas) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'lnstore-bench', replica])
      mounted.push(replica)
      mkdirSync(join(replica, 'bitcoin'))
      const db = new Database(join(replica, 'bitcoin', 'lightningd.sqlite3'))
      db.exec("CREATE TABLE vars (name TEXT PRIMARY KEY, val TEXT, intval INTEGER); INSERT INTO vars VALUES ('data_version', NULL, 100); CREATE TABLE channels (id INTEGER PRIMARY KEY, state BLOB)")
      const insert = db.prepare('INSERT INTO channels VALUES (?, ?)')
      for (let id = 0; id < 200; id++) insert.run(id, Buffer.alloc(400, id))
      db.close()
      writeFileSync(join(replica, 'config'), 'network=bitcoin\n')
      execFileSync('touch', ['-d', '2026-01-01', join(replica, 'bitcoin', 'lightningd.sqlite3'), join(replica, 'config')])
    }

    const socket = join(dir, 'chironfs.sock')
    const log = join(dir, 'chironfs.log')
    const [program, ...args] = mountCommand({binary, replicas: [parseReplica(replicas[0]), parseReplica(`:${replicas[1]}`)], mountpoint: dataDir, controlSocket: socket, log})
    execFileSync(program, args)
    mounted.push(dataDir)
    if (disableOne) {
      // A write that fails on the slow replica: ChironFS disables it, and it stays behind.
      execFileSync('chattr', ['+i', join(replicas[1], 'bitcoin')])
      const db = new Database(join(dataDir, 'bitcoin', 'lightningd.sqlite3'), {timeout: 10_000})
      db.prepare("UPDATE vars SET intval = intval + 1 WHERE name = 'data_version'").run()
      db.close()
      execFileSync('chattr', ['-i', join(replicas[1], 'bitcoin')])
    }

    const config = join(dir, 'config.json')
    writeFileSync(config, JSON.stringify({mode: 'chironfs', dataDir, stateDir: join(dir, 'state'), chironfs: {replicas: [replicas[0], `:${replicas[1]}`], controlSocket: socket, log, binary}}))
    // A full comparison on record, as the weekly scrub leaves it: the healthy case is then OK.
    spawnSync(process.execPath, [bin, 'scrub', '--config', config], {stdio: 'ignore'})
    return config
  }

  try {
    const healthy = setup('healthy', false)
    const behind = setup('behind', true)
    return {
      commands: [
        {label: 'lnstore status (chironfs, 2 replicas OK)', argv: [process.execPath, bin, 'status', '--config', healthy, '--no-alert'], env: {NO_COLOR: '1'}},
        {label: 'lnstore status (chironfs, 1 replica behind)', argv: [process.execPath, bin, 'status', '--config', behind, '--no-alert'], env: {NO_COLOR: '1'}},
      ],
      cleanup,
    }
  } catch (error) {
    cleanup()
    throw error
  }

  function cleanup() {
    for (const path of mounted.reverse()) spawnSync(path.endsWith('data') ? 'fusermount' : 'umount', path.endsWith('data') ? ['-u', '-z', path] : ['-l', path])
  }
}
