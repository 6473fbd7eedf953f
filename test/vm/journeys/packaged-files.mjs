// Prints, one per line, the files of this checkout that scripts/install.sh would install: what
// `npm pack` ships (package.json's "files") and the production dependencies' folders, those that
// lnstore's "dependencies" reach (the dev-only ones are pruned there). test/vm/journeys.sh packs them
// into the archive the journeys' machines install lnstore from, onto their own disk and root's alone
// as an operator's would be, instead of running it from the project share.
// Usage: node packaged-files.mjs CHECKOUT
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'

const root = process.argv[2]
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

const files = ['package.json']
// "files": paths, and "!glob" exclusions of the form dir/*.ext (the only form it uses).
const excluded = manifest.files.filter((entry) => entry.startsWith('!')).map((entry) => entry.slice(1))
const isExcluded = (path) => excluded.some((pattern) => dirname(pattern) === dirname(path) && path.endsWith(pattern.slice(pattern.lastIndexOf('*') + 1)))
const walk = (path) => (statSync(join(root, path)).isDirectory() ? readdirSync(join(root, path)).flatMap((name) => walk(join(path, name))) : [path])
for (const entry of manifest.files.filter((entry) => !entry.startsWith('!'))) files.push(...walk(entry).filter((path) => !isExcluded(path)))

// Node's lookup: a package's dependency is in its own node_modules, or in one of the folders above.
const packages = new Set()
const reach = (from) => {
  const pkg = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8'))
  for (const name of Object.keys({...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies})) {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name)
      if (existsSync(join(candidate, 'package.json'))) {
        if (!packages.has(candidate)) packages.add(candidate), reach(candidate)
        break
      }
      if (dir === root || dirname(dir) === dir) break
    }
  }
}
reach(root)
for (const dir of packages) files.push(...walk(relative(root, dir)))
console.log([...new Set(files)].join('\n'))
