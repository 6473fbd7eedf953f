import {checkReplacement, Refused, type Refusal} from '../devices/checks.js'
import {gatherDeviceFacts, memberPaths} from '../devices/facts.js'
import {nodeAdapter} from '../node/adapter.js'
import {findNodeDatabases} from '../node/data-version.js'
import {planOf, type PlanEntry, type Step} from '../runbook/engine.js'
import type {Deps} from '../system/deps.js'
import {isMissing, vdevsWithoutRedundancy} from '../zfs/health.js'
import {Zpool} from '../zfs/zpool.js'
import {htlcRisk, readHtlcs} from './freshness.js'
import {findMember, replaceSteps, type ReplaceContext} from './plan.js'

export interface ReplaceRequest extends Pick<ReplaceContext, 'restart' | 'sameSlot' | 'allowFiles' | 'force' | 'selfTest' | 'node' | 'stopTimeoutSeconds' | 'startTimeoutSeconds' | 'stateDir' | 'ignoreHtlcs'> {
  /** As the user typed them. */
  failing: string
  newDevice: string
  iUnderstand: boolean
}

export interface ReplacePreparation {
  context: ReplaceContext
  steps: Step<ReplaceContext>[]
  plan: PlanEntry[]
  /** What the operator should know before saying yes. */
  notes: string[]
}

/** A resilver reads the pool's data at about this rate on a modest disk: for the downtime estimate only. */
const ASSUMED_RESILVER_BYTES_PER_SECOND = 50 * 1024 ** 2
/** A node usually stops and is answering again within a minute or so (estimate only). */
const STOP_AND_START_SECONDS = 60

const refusal = (device: string, reason: string, wayOut: string): Refusal => ({device, reason, wayOut, forceable: false})

/** Looks at the pool, the devices and the node, and decides everything replace-disk will do; touches nothing. */
export async function prepareReplace(deps: Deps, request: ReplaceRequest): Promise<ReplacePreparation> {
  const report = (await new Zpool(deps.runner).status()).report
  const [typedFacts, newFacts] = await gatherDeviceFacts(deps, [request.failing, request.newDevice], report)
  // zpool names files by path and disks by their short or by-id name: try what the user typed, then what it resolves to.
  const names = [request.failing, typedFacts.path, typedFacts.realPath, typedFacts.stableName].filter((name): name is string => Boolean(name))
  const found = report.pools.flatMap((pool) => names.map((name) => ({pool, member: findMember(pool, name)}))).find((candidate) => candidate.member)
  if (!found?.member) {
    throw new Refused('replace-disk', [refusal(request.failing, 'is not a device of any imported pool', 'name it as `zpool status` shows it (lnstore status lists the failing device)')])
  }

  const {pool, member} = found
  // The name as zpool prints it (what status advises) is no path: the device it stands for, when attached, is
  // the one whose size counts and whose labels are cleared afterwards (its old copy of the database).
  const failingFacts = typedFacts.exists ? typedFacts : ((await gatherDeviceFacts(deps, memberPaths(member.leaf), report)).find((facts) => facts.exists) ?? typedFacts)
  if (member.top === member.leaf || member.top.children.length < 2) {
    // Nothing to replace it from: the other checks (sizes of its siblings) would only add noise.
    throw new Refused('replace-disk', [refusal(member.leaf.name, `is not in a redundant vdev of ${pool.name}: its data exists nowhere else`, `add a mirror first: zpool attach ${pool.name} ${member.leaf.name} <new-device>`)])
  }

  const refusals: Refusal[] = []
  const missingSiblings = member.top.children.filter((vdev) => vdev !== member.leaf && isMissing(vdev))
  const failingMissing = isMissing(member.leaf)
  // Replaced in beside the new disk (no --same-slot), a present failing device keeps serving its copy until the resilver ends.
  const staysAttached = !request.sameSlot && !failingMissing
  // A present member of a vdev that has no redundancy left holds one of the last readable copies: the missing member comes first.
  if (!failingMissing && vdevsWithoutRedundancy(pool).includes(member.top.name) && missingSiblings.length > 0) {
    refusals.push(
      refusal(
        member.leaf.name,
        `holds one of the last readable copies of ${member.top.name}'s data (${missingSiblings.map((vdev) => `${vdev.name} is ${vdev.state}`).join(', ')}): the missing member is what brings the redundancy back, and this one must stay in until it has`,
        `replace the missing member first: lnstore replace-disk ${missingSiblings[0].name} ${request.newDevice}${request.allowFiles ? ' --allow-files' : ''}`,
      ),
    )
  }

  if (pool.scan.kind === 'resilver' && pool.scan.state === 'in_progress') {
    refusals.push(refusal(pool.name, 'is resilvering already', `wait until zpool status ${pool.name} shows the resilver finished, then run replace-disk again`))
  }

  const siblings = member.top.children.filter((vdev) => vdev !== member.leaf)
  const siblingSizes = (await gatherDeviceFacts(deps, siblings.map((vdev) => vdev.path ?? vdev.name), report)).filter((facts) => facts.exists).map((facts) => facts.sizeBytes)
  const requiredBytes = failingFacts.exists ? failingFacts.sizeBytes : siblingSizes.length > 0 ? Math.min(...siblingSizes) : 0
  // With --same-slot the new disk appears only once the failing one is pulled: it is checked then.
  if (!(request.sameSlot && !newFacts.exists)) refusals.push(...checkReplacement(newFacts, requiredBytes, request))

  // Only --same-slot takes the failing device out (offline, then pulled): while the new one resilvers,
  // the vdev has one member fewer. Replaced in beside it, the failing device keeps its copy readable
  // in the `replacing` vdev until ZFS detaches it at the end, and a member already missing takes nothing away.
  const during = {...pool, vdevs: pool.vdevs.map((top) => (top === member.top ? {...top, children: top.children.map((vdev) => (vdev === member.leaf ? {...vdev, state: 'OFFLINE'} : vdev))} : top))}
  const exposed = request.sameSlot && !failingMissing && refusals.length === 0 ? vdevsWithoutRedundancy(during).filter((name) => name === member.top.name) : []
  if (exposed.length > 0 && !request.iUnderstand) {
    refusals.push(
      refusal(
        member.top.name,
        `has no redundant copy left while ${member.leaf.name} is out of its slot (--same-slot): one more failure during the resilver loses data`,
        `put the new disk in another slot and run it without --same-slot (${member.leaf.name} then stays in the pool until the resilver ends), or accept the risk with --i-understand`,
      ),
    )
  }

  if (refusals.length > 0) throw new Refused('replace-disk', refusals)

  const node = nodeAdapter(deps, request.node)
  const nodeWasRunning = await node.isRunning()
  const notes = [
    newFacts.exists
      ? newFacts.stableName
        ? `${newFacts.given} is ${newFacts.stableName}: lnstore uses that name`
        : `${newFacts.given} has no /dev/disk/by-id name: using ${newFacts.path}`
      : `${newFacts.given} does not exist yet: lnstore waits for it after taking ${member.leaf.name} offline, and checks it then`,
    nodeWasRunning ? 'the node is running: it is stopped for the replace and started again' : 'the node is not running: it is left stopped',
  ]
  const allocated = (await new Zpool(deps.runner).capacity([pool.name]))[0]?.allocatedBytes ?? 0
  const expectedDowntimeSeconds = STOP_AND_START_SECONDS + (request.restart === 'after-resilver' ? allocated / ASSUMED_RESILVER_BYTES_PER_SECOND : 0)
  if (nodeWasRunning) {
    // Read before the node stops: an HTLC that expires while it is down costs the channel.
    const risk = await readHtlcs(node).then(
      ({channels, blockheight}) => htlcRisk(channels, blockheight, expectedDowntimeSeconds),
      (error: Error) => ({level: 'warn' as const, message: `could not ask the node for in-flight HTLCs (${error.message})`}),
    )
    if (risk?.level === 'refuse' && !request.ignoreHtlcs) throw new Refused('replace-disk', [refusal('the node', risk.message, 'wait until the HTLC settles, or add --ignore-htlcs')])
    if (risk) notes.push(`WARNING: ${risk.message}${risk.level === 'refuse' ? ' (going ahead: --ignore-htlcs)' : ''}`)
  }

  if (exposed.length > 0) notes.push(`WARNING: ${member.top.name} has no redundancy while ${member.leaf.name} is out of its slot (--i-understand)`)
  if (staysAttached) notes.push(`${member.leaf.name} stays in the pool while the new disk resilvers (its copy stays readable) and is detached by ZFS when the resilver ends`)
  // The resilver reads from the other members (and the failing one while it stays attached): one that is failing too may not get through it.
  const unreadable = staysAttached ? `blocks that neither it nor ${member.leaf.name} can read` : 'blocks it cannot read'
  for (const sibling of siblings) {
    const errors = (sibling.read ?? 0) + (sibling.write ?? 0) + (sibling.cksum ?? 0)
    if (sibling.state !== 'ONLINE' || errors > 0) {
      notes.push(`WARNING: ${sibling.name}, which the resilver copies from, is ${sibling.state ?? 'in an unknown state'} with ${errors} errors: ${unreadable} are lost (zpool status -v ${pool.name} lists the files)`)
    }
  }

  const context: ReplaceContext = {
    pool: pool.name,
    failing: member.leaf.name,
    failingPath: failingFacts.exists ? failingFacts.path : null,
    newDevice: newFacts.path,
    restart: request.restart,
    sameSlot: request.sameSlot,
    replaceAttached: !request.sameSlot,
    requiredBytes,
    allowFiles: request.allowFiles,
    force: request.force,
    selfTest: request.selfTest,
    node: request.node,
    stopTimeoutSeconds: request.stopTimeoutSeconds,
    startTimeoutSeconds: request.startTimeoutSeconds,
    database: (await findNodeDatabases(request.node.dataDir)).main,
    nodeWasRunning,
    ignoreHtlcs: request.ignoreHtlcs,
    expectedDowntimeSeconds,
    stateDir: request.stateDir,
    freshness: {},
  }
  const steps = replaceSteps(deps, context)
  return {context, steps, plan: planOf(steps), notes}
}
