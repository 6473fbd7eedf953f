import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

// Separate processes (the built CLI code, not TypeScript under tsx) racing for one history file:
// an integration test, since it starts a dozen Node processes.
describe('error history shared by concurrent processes', () => {
  it('survives concurrent writers: every run lands, the file stays valid', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-history-'))
    const writer = fileURLToPath(new URL('../support/history-writer.mjs', import.meta.url))
    const runs = 12
    await Promise.all(
      Array.from({length: runs}, (_, index) => {
        const child = spawn(process.execPath, [writer, stateDir, String(index)], {stdio: 'inherit'})
        return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`writer exited ${code}`)))))
      }),
    )
    const history = JSON.parse(readFileSync(join(stateDir, 'history.json'), 'utf8'))
    // Each writer saw its own counter value, so each left one sample.
    expect(history.devices['name:tank/vdb'].samples).to.have.length(runs)
    expect(readdirSync(stateDir).sort()).to.deep.equal(['history.json'])
  })
})
