import {lstatSync, readdirSync, readlinkSync, type Stats} from 'node:fs'
import {dirname, join, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Finding} from '../storage/verdict.js'

/**
 * Whether root may run this lnstore: what the timers, the ZED hook and the node's start gate run
 * as root (node, lnstore's files, the config file) must be writable by root alone, as must every
 * directory above them. Anyone else who can change one of them gets root at the next check, as sshd's
 * StrictModes says of key files. Plain lstat calls, no subprocess: status runs the cheap form on
 * every check.
 */

export interface UntrustedPath {
  path: string
  /** Why others can change it: who owns it, or who may write to it. */
  why: string
  /** The command that makes it root's alone. */
  fix: string
}

/** lnstore's own files: the package root (dist/system/ → ../..) and the entry point the units run. */
export const LNSTORE_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '')
export const LNSTORE_BIN = join(LNSTORE_ROOT, 'bin', 'run.js')

/** What root runs: node, lnstore's package (its code and dependencies read in depth when `deep`), the config file. */
export interface TrustTargets {
  node: string
  packageRoot: string
  configFile?: string | null
  /** Also look at every file in bin/, dist/, node_modules/ and templates/ (thousands of lstat calls: install, not status). */
  deep: boolean
}

export function lnstoreTargets(configFile: string | null | undefined, deep: boolean): TrustTargets {
  return {node: process.execPath, packageRoot: LNSTORE_ROOT, configFile, deep}
}

const PACKAGE_TREES = ['bin', 'dist', 'node_modules', 'templates']
const PACKAGE_FILES = ['package.json', 'oclif.manifest.json']
const MAX_REPORTED = 5

export function untrustedPaths(targets: TrustTargets): UntrustedPath[] {
  const checker = new Checker()
  checker.chain(targets.node)
  checker.chain(targets.packageRoot)
  for (const name of [...PACKAGE_FILES, ...PACKAGE_TREES]) {
    const path = join(targets.packageRoot, name)
    if (!checker.chain(path)) continue
    if (targets.deep && PACKAGE_TREES.includes(name)) checker.tree(path)
  }

  if (targets.configFile) checker.chain(resolve(targets.configFile))
  return checker.found
}

/** For `lnstore status` run as root: the same check without the walk through every file (a few lstat calls). */
export function trustFindings(configFile: string | null | undefined): Finding[] {
  const found = untrustedPaths(lnstoreTargets(configFile, false))
  if (found.length === 0) return []
  const shown = found.slice(0, MAX_REPORTED).map((entry) => `${entry.path} (${entry.why})`)
  return [
    {
      verdict: 'WARNING',
      message: `root runs code that others can change: ${shown.join(', ')}${found.length > MAX_REPORTED ? ` and ${found.length - MAX_REPORTED} more` : ''}; \`schedule install\` and \`preflight install\` refuse it`,
      next: found.slice(0, MAX_REPORTED).map((entry) => entry.fix).join(' && '),
    },
  ]
}

/** Install's refusal: exit 2, as init's refusals. */
export class UntrustedInstallError extends Error {
  readonly exitCode = 2
  constructor(readonly paths: UntrustedPath[], what: string) {
    const shown = paths.slice(0, MAX_REPORTED).map((entry) => `  ${entry.path}: ${entry.why}; fix: ${entry.fix}`)
    const more = paths.length > MAX_REPORTED ? [`  … and ${paths.length - MAX_REPORTED} more`] : []
    super(
      [
        `refusing to ${what}: root would run code that others can change:`,
        ...shown,
        ...more,
        'Make these root-owned and writable by root alone, or install lnstore where only root can write (sudo ./scripts/install.sh, see the README\'s "Install"); then run this again.',
      ].join('\n'),
    )
    this.name = 'UntrustedInstallError'
  }
}

/** Throws UntrustedInstallError unless everything root will run is root's alone. */
export function assertRootOwned(targets: TrustTargets, what: string): void {
  const found = untrustedPaths(targets)
  if (found.length > 0) throw new UntrustedInstallError(found, what)
}

class Checker {
  readonly found: UntrustedPath[] = []
  private readonly seen = new Set<string>()

  /** Checks `path` and every directory above it; false when it does not exist. Symlinks on the way are followed and their targets checked too. */
  chain(path: string): boolean {
    const parts = resolve(path).split(sep).filter(Boolean)
    let current: string = sep
    if (!this.check(current, parts.length > 0)) return false
    for (const [index, part] of parts.entries()) {
      current = join(current, part)
      if (!this.check(current, index < parts.length - 1)) return false
    }

    return true
  }

  /** Every entry below a directory (symlinks: their targets' chains). */
  tree(directory: string): void {
    let entries: string[]
    try {
      entries = readdirSync(directory)
    } catch {
      return
    }

    for (const name of entries) {
      const path = join(directory, name)
      const info = this.check(path, false)
      if (info && info.isDirectory()) this.tree(path)
    }
  }

  /** `above`: a directory above what root runs, where a sticky bit (/tmp) is enough; in lnstore's own tree it is not (others could add files). */
  private check(path: string, above: boolean): Stats | null {
    let info: Stats
    try {
      info = lstatSync(path)
    } catch {
      return null
    }

    const key = `${above ? 'above' : 'own'}:${path}`
    if (this.seen.has(key)) return info
    this.seen.add(key)
    const problem = judge(path, info, above)
    if (problem && !this.found.some((entry) => entry.path === path)) this.found.push(problem)
    if (info.isSymbolicLink()) {
      // Whoever can write where it points changes what root runs as much as the link itself.
      const target = resolve(dirname(path), readlinkSync(path))
      this.chain(target)
    }

    return info
  }
}

function judge(path: string, info: Stats, above: boolean): UntrustedPath | null {
  if (info.uid !== 0) return {path, why: `owned by uid ${info.uid}, not root`, fix: `chown root:root ${path}`}
  // A link's own mode means nothing; a sticky directory above (/tmp) lets others add names, not replace root's.
  if (info.isSymbolicLink() || (above && info.isDirectory() && info.mode & 0o1000)) return null
  if (info.mode & 0o002) return {path, why: `writable by everyone (mode ${mode(info)})`, fix: `chmod o-w ${path}`}
  // Group root is root's own.
  if (info.mode & 0o020 && info.gid !== 0) return {path, why: `writable by group ${info.gid} (mode ${mode(info)})`, fix: `chmod g-w ${path}`}
  return null
}

function mode(info: Stats): string {
  return (info.mode & 0o7777).toString(8).padStart(4, '0')
}
