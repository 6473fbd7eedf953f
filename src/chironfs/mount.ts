import {access, constants} from 'node:fs/promises'
import {delimiter, join, resolve} from 'node:path'

import {formatReplica, type Replica} from './replicas.js'

/** What the ChironFS mount needs; from the config (`chironfs:` and `dataDir`). */
export interface MountSettings {
  binary: string
  replicas: Replica[]
  mountpoint: string
  controlSocket: string
  log: string
}

/**
 * The command line that mounts ChironFS at the node's data directory: with its log (the record of
 * failed writes and disabled replicas) and its control socket (ChironFS 1.1.1's `--ctl`, which
 * `chironctl` reads). `allow_other` lets the node's user (not root, who mounts) use the mount.
 * `-s` runs FUSE single-threaded: ChironFS 1.1.1 keeps its table of open files and its switch of
 * the effective uid (seteuid, process-wide) without a lock, so two processes using the mount at
 * once (the node, and lnstore reading its database) can have one's open overwrite the other's
 * slot: the node then reads through closed descriptors (SQLITE_IOERR_READ) or writes to another
 * file's. One request at a time costs a node little (it commits one transaction at a time).
 */
export function mountCommand(settings: MountSettings): string[] {
  return [
    settings.binary,
    '--ctl',
    settings.controlSocket,
    '--log',
    settings.log,
    '-o',
    'allow_other',
    '-s',
    settings.replicas.map(formatReplica).join('='),
    settings.mountpoint,
  ]
}

/** FUSE's own unmount, which works for the user who mounted (root) and leaves a busy mount in place. */
export function unmountCommand(mountpoint: string): string[] {
  return ['fusermount', '-u', mountpoint]
}

/** The control program beside chironfs: `chironctl SOCKET` prints each replica's status. */
export function chironctlFor(binary: string): string {
  return binary.includes('/') ? join(binary, '..', 'chironctl') : 'chironctl'
}

/**
 * Finds a program as the shell would: a path is taken as it is, a name is looked up on PATH.
 * Returns its absolute path (it goes into the boot unit, which needs one), or null when it is not installed.
 */
export async function findProgram(name: string, path = process.env.PATH ?? ''): Promise<string | null> {
  const candidates = name.includes('/') ? [resolve(name)] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, name))
  for (const candidate of candidates) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate
  }

  return null
}

/** How to get ChironFS, for messages when it is missing: Debian 12 does not package it. */
export const CHIRONFS_INSTALL_HINT =
  'ChironFS is not packaged in Debian 12: build the 1.1.1 fork (github.com/tweksteen/chironfs) with `apt-get install -y autoconf automake pkg-config gcc make libfuse-dev fuse`, ' +
  'remove the two sysctl.h includes from src/conf.h, then `autoreconf -fi && ./configure && make && make install`; or set chironfs.binary in the config to where it is'

/** The systemd unit `lnstore init --chironfs` writes for the mount (systemd-escape of the path). */
export function mountUnitName(mountpoint: string): string {
  return `lnstore-chironfs@${mountpoint.replace(/^\/+|\/+$/g, '').replaceAll('-', '\\x2d').replaceAll('/', '-')}.service`
}
