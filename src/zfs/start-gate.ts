import type {Config} from '../config/schema.js'
import type {StartGate} from '../storage/backend.js'
import {checkDataDirMount, parseMountInfo} from '../storage/mounts.js'
import type {Finding} from '../storage/verdict.js'
import type {Deps} from '../system/deps.js'
import {runChecked} from '../system/runner.js'
import {vdevsWithoutRedundancy} from './health.js'
import {fileDialectCache} from './dialect-cache.js'
import {poolCannotDoIo, type Pool} from './status-model.js'
import {Zpool} from './zpool.js'

/** What the start gate says of the pool and the dataset before it reads the node's data (mode zfs). */
export async function zfsStartGate(deps: Deps, config: Config, stateDir: string): Promise<StartGate> {
  const dataDir = config.dataDir!
  const dataset = config.dataset!
  const mount = checkDataDirMount(parseMountInfo(await deps.readFile('/proc/self/mountinfo')), dataDir, dataset)
  // Whatever sits in that directory is not the pool's data: reading it would prove nothing.
  if (mount) return {findings: [mount], dataPresent: false, poolHistory: null}
  const pool = dataset.split('/')[0]
  const [status] = (await new Zpool(deps.runner, 'zpool', fileDialectCache(stateDir)).status([pool])).report.pools
  if (!status) return {findings: [{verdict: 'CRITICAL', message: `the pool ${pool} is not imported`, next: `zpool import ${pool}`}], dataPresent: false, poolHistory: null}
  if (poolCannotDoIo(status)) {
    // No reads of the node's files: on a suspended pool they block in the kernel past systemd's start timeout.
    return {findings: [{verdict: 'CRITICAL', message: `the pool ${pool} is ${status.state}`, next: `zpool status -v ${pool}`}], dataPresent: false, poolHistory: null}
  }

  const findings = [...poolFindings(status, config.allowDegradedStart), ...(await datasetFindings(deps, dataset))]
  return {findings, dataPresent: true, poolHistory: {pool, dataset}}
}

function poolFindings(status: Pool, allowDegradedStart: boolean): Finding[] {
  const pool = status.name
  const exposed = vdevsWithoutRedundancy(status)
  if (exposed.length === 0) return []
  const message = `${exposed.join(', ')} in ${pool} has no redundant copy left: one more failure loses the node's data`
  return allowDegradedStart
    ? [{verdict: 'WARNING', message: `${message} (starting anyway: allowDegradedStart is set in the config)`, next: `lnstore status --pool ${pool}`}]
    : [{verdict: 'CRITICAL', message, next: `restore redundancy first (lnstore status --pool ${pool}), or set allowDegradedStart: true in the config to start regardless`}]
}

async function datasetFindings(deps: Deps, dataset: string): Promise<Finding[]> {
  // `all`, because zfs-fuse has no `sync` property and refuses to name it.
  const output = (await runChecked(deps.runner, ['zfs', 'get', '-H', '-o', 'property,value', 'all', dataset])).stdout
  const values = new Map(output.trim().split('\n').map((line) => line.split('\t') as [string, string]))
  const findings: Finding[] = []
  if (values.get('readonly') === 'on') findings.push({verdict: 'CRITICAL', message: `${dataset} is read-only: the node cannot write`, next: `zfs set readonly=off ${dataset}`})
  if (values.get('sync') === 'disabled') {
    findings.push({verdict: 'CRITICAL', message: `${dataset} has sync=disabled: a crash loses writes the node was told were safe`, next: `zfs set sync=standard ${dataset}`})
  }

  return findings
}
