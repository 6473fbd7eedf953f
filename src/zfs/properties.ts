/**
 * The settings lnstore gives a new pool and the node's dataset, each with its reason, and the
 * check of which of them the installed ZFS supports (zfs-fuse lacks lz4, xattr=sa and acltype).
 */

/** Property name -> the VALUES text `zpool get` / `zfs get` print in their usage. */
export type SupportedProperties = Map<string, string>

export interface PropertyChoice {
  property: string
  value: string
  why: string
}

export interface ChosenProperties {
  pool: PropertyChoice[]
  /** Set on the pool's root dataset (`zpool create -O`), inherited by the node's dataset. */
  root: PropertyChoice[]
  dataset: PropertyChoice[]
  /** Settings this ZFS does not support, skipped with the reason. */
  skipped: {property: string; value: string; note: string}[]
}

/** SQLite pages are 4 KiB; 16K records keep a page update from rewriting a large record, and still compress. */
export const NODE_RECORDSIZE = '16K'

export const POOL_SETTINGS: PropertyChoice[] = [
  {property: 'ashift', value: '12', why: '4 KiB sectors: right for every current disk and SSD; too small an ashift cannot be fixed later'},
]

export const ROOT_SETTINGS: PropertyChoice[] = [
  {property: 'compression', value: 'lz4', why: 'cheap, and skips data that does not compress'},
  {property: 'atime', value: 'off', why: 'no write for every read'},
  {property: 'xattr', value: 'sa', why: 'extended attributes in the inode, not in hidden directories'},
  {property: 'acltype', value: 'posixacl', why: 'POSIX ACLs, as Linux programs expect'},
  {property: 'dedup', value: 'off', why: 'stated explicitly: channel data is random, dedup would only cost memory'},
  {property: 'mountpoint', value: 'none', why: 'the pool root holds nothing; only the node dataset is mounted'},
  {property: 'canmount', value: 'off', why: 'the pool root holds nothing; only the node dataset is mounted'},
]

export const DATASET_SETTINGS: PropertyChoice[] = [
  {
    property: 'recordsize',
    value: NODE_RECORDSIZE,
    why: 'Core Lightning\'s SQLite database writes 4 KiB pages at random; ZFS rewrites a whole record per change, so 16K records keep that amplification small (the default 128K would rewrite 32 times the data) while lz4 still has room to compress',
  },
]

/** Other spellings of a value in other OpenZFS releases (2.2 lists acltype as `off | nfsv4 | posix`). */
const VALUE_ALIASES: Record<string, string[]> = {posixacl: ['posix']}

/**
 * Reads the property table `zpool get` or `zfs get` prints (to stderr) when run without
 * arguments: `\tcompression  YES  YES  on | off | lzjb | gzip | ...`.
 */
export function parsePropertyUsage(usage: string): SupportedProperties {
  const supported: SupportedProperties = new Map()
  for (const line of usage.split('\n')) {
    const match = /^\t(\S+)\s+(?:YES|NO)\s+(?:(?:YES|NO)\s+)?(.*)$/.exec(line)
    if (match && match[1] !== 'PROPERTY') supported.set(match[1], match[2].trim())
  }

  return supported
}

/** Keeps the settings this ZFS supports; the rest are skipped with a note, never a failure halfway. */
export function chooseProperties(poolProperties: SupportedProperties, datasetProperties: SupportedProperties): ChosenProperties {
  const skipped: ChosenProperties['skipped'] = []
  const keep = (choices: PropertyChoice[], supported: SupportedProperties) =>
    choices.flatMap((choice) => {
      const values = supported.get(choice.property)
      if (values === undefined) {
        skipped.push({property: choice.property, value: choice.value, note: 'this ZFS has no such property'})
        return []
      }

      // A free-form value (`<size>`, `<path>`) has no list to check against.
      if (!values.includes('|')) return [choice]
      const offered = values.split('|').map((value) => value.trim())
      const value = [choice.value, ...(VALUE_ALIASES[choice.value] ?? [])].find((candidate) => offered.includes(candidate))
      if (value === undefined) {
        skipped.push({property: choice.property, value: choice.value, note: `this ZFS offers only ${values}`})
        return []
      }

      return [{...choice, value}]
    })

  const root = keep(ROOT_SETTINGS, datasetProperties)
  // Older ZFS (zfs-fuse) has no lz4: its own default compression is still better than none.
  if (!root.some((choice) => choice.property === 'compression') && datasetProperties.get('compression')?.split('|').some((value) => value.trim() === 'on')) {
    root.unshift({property: 'compression', value: 'on', why: 'lz4 is not available here; "on" is this ZFS\'s default algorithm'})
  }

  return {pool: keep(POOL_SETTINGS, poolProperties), root, dataset: keep(DATASET_SETTINGS, datasetProperties), skipped}
}
