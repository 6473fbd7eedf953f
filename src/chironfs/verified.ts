import {join} from 'node:path'

import type {TreeEntry} from '../init/copy-tree.js'
import {readJsonFile, updateJsonFile} from '../state/json-file.js'
import type {Difference, VerifiedFile} from './divergence.js'

/**
 * What lnstore last verified of the replicas' files, off the replicas (in its state directory):
 * each file's size, time and SHA-256 when every replica held it alike (init's verified copy, a
 * heal, a full comparison), and the files the last full comparison found different. ChironFS
 * keeps no checksums: this record is what tells, of two copies of the same size and time, the one
 * still as it was from the one changed behind ChironFS; and the suspects are what a quick look
 * hashes so that status and heal see what the scrub saw.
 */
export interface VerifiedState {
  version: 1
  /** When and by which command the record was last updated. */
  at: number | null
  by: string | null
  files: Record<string, VerifiedFile>
  /** Paths the last full comparison found different, until a heal or a clean comparison. */
  suspects: string[]
}

const EMPTY: VerifiedState = {version: 1, at: null, by: null, files: {}, suspects: []}

const pathOf = (stateDir: string) => join(stateDir, 'chironfs-verified.json')

/** The record; empty when there is none or it is damaged (then nothing is taken on its word). */
export async function readVerified(stateDir: string): Promise<VerifiedState> {
  return readJsonFile(pathOf(stateDir), EMPTY).catch(() => EMPTY)
}

const filesOf = (entries: TreeEntry[]): Record<string, VerifiedFile> =>
  Object.fromEntries(entries.filter((entry) => entry.type === 'file' && entry.content !== undefined).map((entry) => [entry.path, {size: entry.size, mtime: entry.mtime, sha256: entry.content!}]))

/** After a verified copy (init, heal): every replica holds exactly `entries` (hashed); nothing is suspect. */
export function recordVerifiedTree(stateDir: string, entries: TreeEntry[], at: number, by: string): Promise<VerifiedState> {
  return updateJsonFile(pathOf(stateDir), EMPTY, () => ({version: 1, at, by, files: filesOf(entries), suspects: []}))
}

/**
 * After a full comparison: files every replica holds alike (same size, time and hash) are recorded
 * as they are; a file that differs keeps its earlier record (the copy still like it is the intact
 * one) and becomes a suspect.
 */
export function recordComparisonOutcome(stateDir: string, trees: TreeEntry[][], differences: Difference[], at: number): Promise<VerifiedState> {
  const differing = new Set(differences.map((difference) => difference.path))
  const [first, ...others] = trees.map(filesOf)
  const agreed = Object.entries(first ?? {}).filter(
    ([path, file]) => !differing.has(path) && others.every((tree) => tree[path] && tree[path].sha256 === file.sha256 && tree[path].size === file.size && tree[path].mtime === file.mtime),
  )
  return updateJsonFile(pathOf(stateDir), EMPTY, (current) => ({
    version: 1,
    at,
    by: 'scrub',
    files: {...Object.fromEntries(Object.entries(current.files).filter(([path]) => differing.has(path))), ...Object.fromEntries(agreed)},
    suspects: [...differing].sort(),
  }))
}
