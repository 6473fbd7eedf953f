import {expect} from 'chai'
import {chmodSync, chownSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {untrustedPaths} from '../../src/system/trust.js'

/** Which paths make root's code changeable by others: lstat only, on a small package layout in a temporary directory. */
describe('root-owned check', function () {
  const base = mkdtempSync(join(tmpdir(), 'lnstore-trust-unit-'))
  let count = 0
  const layout = () => {
    const root = join(base, `pkg${count++}`)
    for (const dir of ['bin', 'dist/commands', 'node_modules/dep']) mkdirSync(join(root, dir), {recursive: true})
    for (const file of ['bin/run.js', 'dist/commands/status.js', 'node_modules/dep/index.js', 'package.json']) writeFileSync(join(root, file), '')
    return root
  }

  const check = (packageRoot: string, configFile?: string) => untrustedPaths({node: process.execPath, packageRoot, configFile, deep: true}).map(({path, why}) => `${path}: ${why}`)

  before(function () {
    if (process.getuid?.() !== 0) this.skip() // Only root can hand files to other owners.
  })

  it('accepts a root-owned package below /tmp (a sticky directory above it lets others add names, not replace root\'s)', () => {
    expect(check(layout())).to.deep.equal([])
  })

  it('refuses a sticky, world-writable directory inside the package: others could add a module there', () => {
    const root = layout()
    chmodSync(join(root, 'node_modules'), 0o1777)
    expect(check(root)).to.deep.equal([`${join(root, 'node_modules')}: writable by everyone (mode 1777)`])
  })

  it('follows a link in node_modules (npm link) and judges where it points', () => {
    const root = layout()
    const elsewhere = join(base, 'linked-dep')
    mkdirSync(elsewhere)
    chownSync(elsewhere, 1000, 1000)
    symlinkSync(elsewhere, join(root, 'node_modules', 'linked'))
    expect(check(root)).to.deep.equal([`${elsewhere}: owned by uid 1000, not root`])
  })

  it('group root may write; another group may not; a config another user owns is refused', () => {
    const root = layout()
    chmodSync(join(root, 'dist'), 0o775)
    expect(check(root)).to.deep.equal([])
    chownSync(join(root, 'dist'), 0, 100)
    const config = join(base, 'config.yaml')
    writeFileSync(config, '')
    chownSync(config, 1000, 0)
    expect(check(root, config)).to.deep.equal([`${join(root, 'dist')}: writable by group 100 (mode 0775)`, `${config}: owned by uid 1000, not root`])
  })
})
