#!/usr/bin/env node
// Bundles each built command (dist/commands/**/*.js) with everything of orch's and the small
// packages it loads into one CommonJS file, dist/fast/commands/<path>.cjs, which bin/run.js
// requires. Why: Node 20 spends more time finding, reading and linking two dozen ES modules (and
// starting its ES module loader at all) than running `orch route`; one CommonJS file costs one
// read and one compile. The heavy packages stay outside, loaded when a command needs them, as
// from dist/. Modules a command imports lazily are inlined but still run only when first used.
// Part of `npm run build`, after tsc.
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(ROOT, 'dist')
const OUT = join(DIST, 'fast')

// Loaded from node_modules at run time, never copied in: large (the AWS SDK, ssh2 with its native
// parts, the MCP SDK) or only reached through oclif.
const EXTERNAL = ['ssh2', 'cpu-features', '@aws-sdk/*', '@smithy/*', '@oclif/*', '@modelcontextprotocol/*', 'zod', 'esbuild']

/**
 * A bundle is not where its modules were: `import.meta.url` (scripts next to a module, the holder's
 * entry, require() of a package) must still name each module's own file under dist/.
 */
const keepModuleUrls = (bundleDir) => ({
  name: 'module-urls',
  setup(buildApi) {
    buildApi.onLoad({filter: /[/\\]dist[/\\].*\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('import.meta.url')) return {contents: source, loader: 'js'}
      const fromBundle = JSON.stringify(relative(bundleDir, args.path))
      const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${fromBundle})).href`
      return {contents: source.replaceAll('import.meta.url', url), loader: 'js'}
    })
  },
})

const commandFiles = (dir, prefix = '') =>
  readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? commandFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : entry.name.endsWith('.js') ? [`${prefix}${entry.name.slice(0, -3)}`] : [],
  )

const common = {bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: EXTERNAL, logLevel: 'warning', legalComments: 'none'}

rmSync(OUT, {recursive: true, force: true})
const builds = commandFiles(join(DIST, 'commands')).map((path) => {
  const outfile = join(OUT, 'commands', `${path}.cjs`)
  return build({
    ...common,
    stdin: {
      contents: `import command from ${JSON.stringify(join(DIST, 'commands', `${path}.js`))}
import {runBundled} from ${JSON.stringify(join(DIST, 'cli', 'bundled.js'))}
export const main = (argv) => runBundled(command, argv)
`,
      resolveDir: DIST,
      loader: 'js',
    },
    outfile,
    plugins: [keepModuleUrls(dirname(outfile))],
  })
})
builds.push(build({...common, entryPoints: [join(DIST, 'cli', 'command-words.js')], outfile: join(OUT, 'command-words.cjs')}))
await Promise.all(builds)
