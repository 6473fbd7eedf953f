import {join} from 'node:path'

import {updateJsonFile} from './json-file.js'

/** Things lnstore did to the storage (pool created, disk replaced ...), kept for the record. */
export interface StorageEvent {
  at: number
  kind: string
  pool: string
  detail: Record<string, unknown>
}

const MAX_EVENTS = 1000

export async function appendEvent(stateDir: string, event: StorageEvent): Promise<void> {
  await updateJsonFile<StorageEvent[]>(join(stateDir, 'events.json'), [], (events) => [...events, event].slice(-MAX_EVENTS))
}
