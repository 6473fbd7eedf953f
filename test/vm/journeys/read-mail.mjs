// Prints the operator's mailbox (mail-sink.mjs's folder) as JSON lines, oldest first:
// {"file", "receivedAt" (ms), "subject", "text"}, decoded by the demo inbox's own decoder.
//   node read-mail.mjs FOLDER
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {decodeMail} from '../../../dist/demo/inbox.js'

const folder = process.argv[2]
let names = []
try {
  names = readdirSync(folder).filter((name) => name.endsWith('.eml') && !name.startsWith('.'))
} catch {}
names.sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]) || a.localeCompare(b))
for (const name of names) {
  const {subject, text} = decodeMail(readFileSync(join(folder, name), 'utf8'))
  console.log(JSON.stringify({file: name, receivedAt: Number(name.split('-')[0]), subject, text}))
}
