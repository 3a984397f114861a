#!/usr/bin/env node
// The standalone host tools in scripts/cloud/ run from cron with no orch beside them, so each holds
// a copy of src/jobs/sh/job-lib.sh between two marker lines. This rewrites those copies
// (`npm run assemble`); with --check it only reports a stale copy and exits 1
// (test/unit/jobs/host-scripts.test.ts runs the check).
import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BEGIN = '# >>> job library: generated from src/jobs/sh/job-lib.sh by scripts/assemble-host-tools.mjs; do not edit >>>'
export const END = '# <<< job library <<<'
export const TOOLS = ['scripts/cloud/log-retention.sh', 'scripts/cloud/autostop-check.sh', 'scripts/cloud/crontab-line.sh']

export function assembled(text, library) {
  const start = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  if (start < 0 || end < start) throw new Error('the job library markers are missing')
  return `${text.slice(0, start + BEGIN.length)}\n${library.trimEnd()}\n${text.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check')
  const library = readFileSync(`${ROOT}/src/jobs/sh/job-lib.sh`, 'utf8')
  let stale = 0
  for (const tool of TOOLS) {
    const text = readFileSync(`${ROOT}/${tool}`, 'utf8')
    const next = assembled(text, library)
    if (next === text) continue
    stale++
    if (check) console.error(`${tool}: its copy of the job library is out of date (run npm run assemble)`)
    else writeFileSync(`${ROOT}/${tool}`, next)
  }
  process.exit(check && stale ? 1 : 0)
}
