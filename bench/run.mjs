#!/usr/bin/env node
// Runs every bench/*.mjs (except this file) in turn, in name order; exits 1 if any failed.
// A bench is a script that prints its measurements and exits non-zero when it misses its goal.
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {basename, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const self = basename(fileURLToPath(import.meta.url))
const benches = readdirSync(here)
  .filter((name) => name.endsWith('.mjs') && name !== self)
  .sort()

const failed = []
for (const name of benches) {
  console.log(`\n== bench/${name}`)
  const result = spawnSync(process.execPath, [join(here, name)], {stdio: 'inherit'})
  const status = result.status ?? `signal ${result.signal}`
  if (result.error) console.error(`bench/${name}: ${result.error.message}`)
  if (status !== 0) failed.push(`${name} (exit ${status})`)
}

console.log(`\n${benches.length} bench${benches.length === 1 ? '' : 'es'} run; ${failed.length === 0 ? 'all passed' : `failed: ${failed.join(', ')}`}`)
process.exit(failed.length === 0 ? 0 : 1)
