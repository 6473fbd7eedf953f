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

/** Average Bitcoin block interval, for turning an HTLC's expiry height into time. */
const BLOCK_SECONDS = 600

/**
 * A warning when an in-flight HTLC expires (in blocks) sooner than the node is expected to be down:
 * an offline node cannot settle or fail it, and the peer may force-close the channel.
 */
export function htlcWarning(channels: PeerChannels['channels'], blockheight: number, downtimeSeconds: number): string | null {
  const htlcs = channels.flatMap((channel) => (channel.htlcs ?? []).map((htlc) => ({channel: channel.short_channel_id ?? channel.peer_id ?? '?', blocks: htlc.expiry - blockheight})))
  if (htlcs.length === 0) return null
  const nearest = htlcs.reduce((a, b) => (b.blocks < a.blocks ? b : a))
  if (nearest.blocks * BLOCK_SECONDS >= downtimeSeconds) return null
  return `${htlcs.length} HTLC${htlcs.length === 1 ? '' : 's'} in flight; the nearest (channel ${nearest.channel}) expires in ${nearest.blocks} blocks (about ${Math.max(0, Math.round((nearest.blocks * BLOCK_SECONDS) / 60))} min), sooner than the expected downtime (about ${Math.round(downtimeSeconds / 60)} min): wait until it settles, or accept that its channel may be force-closed`
}
