import {expect} from 'chai'
import {lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {lchown} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {PlantedLinkError, readJsonFile, updateJsonFile, writeFileAtomically} from '../../src/state/json-file.js'

/** What lnstore writes as root (history, journal, outbox, schedule record) leaks nothing and follows no planted link. */
describe('state files', () => {
  const root = mkdtempSync(join(tmpdir(), 'lnstore-state-files-'))

  it('are 0600 in a 0700 directory, whatever the umask', async () => {
    const old = process.umask(0)
    try {
      const path = join(root, 'fresh', 'history.json')
      await updateJsonFile(path, {n: 0}, ({n}) => ({n: n + 1}))
      expect(statSync(path).mode & 0o777).to.equal(0o600)
      expect(statSync(join(root, 'fresh')).mode & 0o777).to.equal(0o700)
      await writeFileAtomically(join(root, 'fresh', 'lnstore.prom'), 'x 1\n', 0o644)
      expect(statSync(join(root, 'fresh', 'lnstore.prom')).mode & 0o777).to.equal(0o644)
    } finally {
      process.umask(old)
    }
  })

  it('a link planted in place of a state file is neither read nor written through', async () => {
    const dir = join(root, 'planted')
    mkdirSync(dir)
    const victim = join(root, 'victim')
    writeFileSync(victim, '{"secret": true}\n')
    symlinkSync(victim, join(dir, 'alerts.json'))
    let error: unknown
    await readJsonFile(join(dir, 'alerts.json'), null).catch((caught) => (error = caught))
    expect(error).to.be.instanceOf(PlantedLinkError)
    expect((error as Error).message).to.contain(`${join(dir, 'alerts.json')} is a symbolic link; lnstore does not follow links in its state`)
    // A write replaces the link itself; the file it pointed to is untouched.
    await writeFileAtomically(join(dir, 'alerts.json'), '{}\n')
    expect(lstatSync(join(dir, 'alerts.json')).isSymbolicLink()).to.equal(false)
    expect(readFileSync(victim, 'utf8')).to.equal('{"secret": true}\n')
  })

  it('an update that changes nothing leaves the file as it was; a missing file is still written', async () => {
    const path = join(root, 'unchanged', 'freshness.json')
    const same = <T>(state: T) => state
    await updateJsonFile(path, {n: 0}, same)
    expect(readFileSync(path, 'utf8'), 'a missing file is written, even with the fallback').to.equal('{"n":0}\n')
    writeFileSync(path, '{"n": 7}\n')
    const before = statSync(path)
    expect(await updateJsonFile(path, {n: 0}, same)).to.deep.equal({n: 7})
    const after = statSync(path)
    expect([after.ino, after.mtimeMs, readFileSync(path, 'utf8')]).to.deep.equal([before.ino, before.mtimeMs, '{"n": 7}\n'])
    await updateJsonFile(path, {n: 0}, ({n}) => ({n: n + 1}))
    expect(readFileSync(path, 'utf8')).to.equal('{"n":8}\n')
    expect(lstatSync(`${path}.lock`, {throwIfNoEntry: false}), 'the lock is released').to.equal(undefined)
  })

  it("a state directory that is someone else's link is refused", async function () {
    if (process.getuid?.() !== 0) this.skip() // Giving the link another owner takes root.
    const target = join(root, 'elsewhere')
    mkdirSync(target)
    const link = join(root, 'state-link')
    symlinkSync(target, link)
    await lchown(link, 1000, 1000)
    let error: unknown
    await writeFileAtomically(join(link, 'history.json'), '{}\n').catch((caught) => (error = caught))
    expect(error).to.be.instanceOf(PlantedLinkError)
  })
})
