#!/usr/bin/env -S node --
// `node --` : Node 20 reads an --env-file anywhere in its arguments, the script's too (orch run
// --env-file, or a job's own command holding one), and fails (status 9) or hangs on a FIFO before
// orch starts; after `--` it reads none of them.
// CommonJS (bin/package.json): a command runs from its bundle (dist/fast/commands/<path>.cjs, built
// by scripts/bundle-commands.mjs) without Node starting its ES module loader. Help, topics,
// --version, completions and unknown commands are oclif's (dist/cli/dispatch.js's main).
'use strict'
const {existsSync} = require('node:fs')
const {join} = require('node:path')
const {pathToFileURL} = require('node:url')

const argv = process.argv.slice(2)
const bundles = join(__dirname, '..', 'dist', 'fast')
const bundle = (path) => join(bundles, 'commands', `${path}.cjs`)
const found = process.env.ORCH_NO_FAST_PATH || !existsSync(bundles) ? undefined : require(join(bundles, 'command-words.cjs')).commandPath(argv, (path) => existsSync(bundle(path)))
if (found) {
  require(bundle(found.path)).main(argv.slice(found.words))
} else {
  // oclif finds its configuration from the directory it is given: the package's, not bin/'s.
  import(pathToFileURL(join(__dirname, '..', 'dist', 'cli', 'dispatch.js')).href).then(({main}) => main(argv, join(__dirname, '..')))
}
