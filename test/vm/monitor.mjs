#!/usr/bin/env node
// One command to a QEMU human monitor socket, its answer on stdout (host side of run.sh; node
// instead of socat, so the VM tier needs no extra package).
//   node test/vm/monitor.mjs SOCKET 'device_del lnstore-disk2'
import {connect} from 'node:net'

const [socket, command] = process.argv.slice(2)
const prompt = '(qemu) '
let buffer = ''
let sent = false
const client = connect(socket)
const deadline = setTimeout(() => {
  console.error(`monitor.mjs: no answer from ${socket} within 30 s`)
  process.exit(1)
}, 30_000)
client.on('data', (chunk) => {
  buffer += chunk.toString('utf8')
  if (!buffer.endsWith(prompt)) return
  if (!sent) {
    sent = true
    buffer = ''
    client.write(`${command}\n`)
    return
  }
  // The monitor echoes the command (with terminal redraws) up to the first line break: skip that.
  const answer = buffer.slice(0, -prompt.length)
  process.stdout.write(answer.slice(answer.indexOf('\n') + 1))
  clearTimeout(deadline)
  client.end()
})
client.on('error', (error) => {
  console.error(`monitor.mjs: ${error.message}`)
  process.exit(1)
})
