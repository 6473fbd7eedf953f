#!/usr/bin/env node
// Bundles the fast entry for `status` and `preflight` (src/cli/fast.ts) into dist/fast/: one file
// per lazily loaded part instead of ~60 modules, with oclif's command, flags and errors modules
// replaced by the stand-ins in src/cli/oclif-lite/ (the real ones cost ~100 ms to load). Run by
// `npm run build` after tsc and the manifest. Packages stay outside the bundle (yaml is CommonJS
// and requires node built-ins, which an ES module bundle cannot), loaded from node_modules as before.
import {build} from 'esbuild'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const STAND_INS = {
  '@oclif/core/command': 'src/cli/oclif-lite/command.ts',
  '@oclif/core/flags': 'src/cli/oclif-lite/flags.ts',
  '@oclif/core/errors': 'src/cli/oclif-lite/errors.ts',
}

const oclifLite = {
  name: 'oclif-lite',
  setup(builder) {
    builder.onResolve({filter: /^@oclif\/core(\/|$)/}, (args) => {
      // Imported by the stand-ins themselves, on the error path only: the real module.
      if (args.importer.includes('oclif-lite') || args.path === '@oclif/core/handle') return {path: args.path, external: true}
      if (STAND_INS[args.path]) return {path: `${root}${STAND_INS[args.path]}`}
      return {errors: [{text: `${args.path} has no stand-in in src/cli/oclif-lite/: the fast entry would load oclif (import it lazily, or add a stand-in)`}]}
    })
    builder.onResolve({filter: /^[^./]/}, (args) => ({path: args.path, external: true}))
  },
}

await build({
  absWorkingDir: root,
  entryPoints: {fast: 'src/cli/fast.ts'},
  outdir: 'dist/fast',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  tsconfig: 'tsconfig.json',
  plugins: [oclifLite],
  logLevel: 'warning',
})
