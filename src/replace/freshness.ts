import type {PeerChannels} from '../node/adapter.js'
import type {DatabaseReading} from '../node/data-version.js'

/**
 * Whether the node may start on `now`: the database the node will open must pass quick_check and
 * hold exactly the data_version it had when the node stopped. Lower is older data (starting could
 * broadcast a revoked channel state); higher means something else wrote to it. Returns the reason
 * to refuse, or null.
 */
export function freshnessProblem(atStop: DatabaseReading, now: DatabaseReading): string | null {
  if (now.check !== 'ok') return `${now.path} fails SQLite's quick_check (${now.check}): the node must not start on it`
  if (atStop.dataVersion === null) return null
  if (now.dataVersion === null) return `${now.path} has no data_version, but had ${atStop.dataVersion} when the node stopped: it is not the node's database`
  if (now.dataVersion < atStop.dataVersion) {
    return `${now.path} went backwards: data_version ${now.dataVersion}, but ${atStop.dataVersion} when the node stopped. It is older data; starting the node on it could broadcast a revoked channel state`
  }

  if (now.dataVersion > atStop.dataVersion) return `${now.path} changed while the node was stopped: data_version ${now.dataVersion}, ${atStop.dataVersion} when the node stopped; find out what wrote to it`
  return null
}

/** Average Bitcoin block interval, for turning the expected downtime into blocks. */
const BLOCK_SECONDS = 600
/** Blocks kept in hand beyond the expected downtime: a node back late, a burst of fast blocks, the peer's own margin. */
export const HTLC_SAFETY_BLOCKS = 18

/** What in-flight HTLCs say about stopping the node now: refuse, warn, or nothing to say. */
export interface HtlcRisk {
  level: 'refuse' | 'warn'
  message: string
}

type Channels = PeerChannels['channels']

/**
 * An offline node cannot settle or fail an HTLC: once its expiry height passes, the peer force-closes
 * the channel on chain. Refuses when the nearest expiry is within the expected downtime (in blocks)
 * plus a safety margin; warns within twice that.
 */
export function htlcRisk(channels: Channels, blockheight: number, downtimeSeconds: number): HtlcRisk | null {
  const htlcs = channels.flatMap((channel) => (channel.htlcs ?? []).map((htlc) => ({channel: channel.short_channel_id ?? channel.peer_id ?? '?', expiry: htlc.expiry, blocks: htlc.expiry - blockheight})))
  if (htlcs.length === 0) return null
  const nearest = htlcs.reduce((a, b) => (b.blocks < a.blocks ? b : a))
  const downtimeBlocks = Math.max(1, Math.ceil(downtimeSeconds / BLOCK_SECONDS))
  const limit = downtimeBlocks + HTLC_SAFETY_BLOCKS
  if (nearest.blocks > 2 * limit) return null
  const where = `${htlcs.length} HTLC${htlcs.length === 1 ? '' : 's'} in flight; the nearest, on channel ${nearest.channel}, expires at block ${nearest.expiry}: ${nearest.blocks} blocks left (block height ${blockheight})`
  const budget = `${limit} blocks (the expected downtime, about ${downtimeBlocks} block${downtimeBlocks === 1 ? '' : 's'} or ${Math.round(downtimeSeconds / 60)} min, plus a safety margin of ${HTLC_SAFETY_BLOCKS})`
  if (nearest.blocks <= limit) {
    return {level: 'refuse', message: `${where}, within ${budget}: a node stopped now may not be back before it expires, and the peer would force-close the channel. Wait until it settles (lightning-cli listpeerchannels), or go ahead regardless with --ignore-htlcs`}
  }

  return {level: 'warn', message: `${where}, within twice ${budget}: keep the downtime short`}
}

/** The in-flight HTLCs as the node reports them: listpeerchannels, or listpeers' channels on nodes older than v23. */
export async function readHtlcs(node: {call<T>(method: string): Promise<T>}): Promise<{channels: Channels; blockheight: number}> {
  const {blockheight} = await node.call<{blockheight: number}>('getinfo')
  const channels = await node
    .call<PeerChannels>('listpeerchannels')
    .then((answer) => answer.channels)
    .catch(async () => (await node.call<{peers: {id?: string; channels?: Channels}[]}>('listpeers')).peers.flatMap((peer) => (peer.channels ?? []).map((channel) => ({peer_id: peer.id, ...channel}))))
  return {channels, blockheight}
}
