// The operator's mailbox in the journey VM: a plain SMTP server on 127.0.0.1 (the `smtp-server`
// package lnstore's tests and demo use) that keeps every message as one file, so a journey reads
// its mail like an operator would, after a reboot or a power cut too (the folder is on the root
// disk, off the pool). Run by lnstore-mail-sink.service:  node mail-sink.mjs PORT FOLDER
import {mkdirSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {SMTPServer} from 'smtp-server'

const [port, folder] = process.argv.slice(2)
mkdirSync(folder, {recursive: true})
let count = 0
const server = new SMTPServer({
  logger: false,
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  onData(stream, session, callback) {
    const chunks = []
    stream.on('data', (chunk) => chunks.push(chunk))
    stream.on('end', () => {
      const name = `${Date.now()}-${process.pid}-${++count}.eml`
      writeFileSync(join(folder, `.${name}`), Buffer.concat(chunks))
      renameSync(join(folder, `.${name}`), join(folder, name))
      callback()
    })
  },
})
server.on('error', (error) => console.error(`mail-sink: ${error.message}`))
server.listen(Number(port), '127.0.0.1', () => console.log(`mail-sink: listening on 127.0.0.1:${port}, keeping mail in ${folder}`))
