#!/usr/bin/env node
// What resolving ORCH_HOST through `ssh -G` adds to a cloud command (issue 12.1: at most 10 ms).
//
// 1. Median wall time of resolveSshTarget() from dist/ over N runs, for an alias in a config with an
//    Include, wildcard blocks and a Match (ORCH_SSH_CONFIG), and for a plain name read through
//    $HOME/.ssh/config (HOME not the password database's home: the Include file orch writes), next
//    to the floor: spawning `true` the same way.
// 2. What a cloud command pays: a fresh node process loading ssh2 (which every connection needs)
//    with and without resolving at the same time, as sites.ts does (preloadSsh2, then ssh -G),
//    alternating, N/2 each. The goal is on this difference: at most 10 ms.
//
// Needs a build. Exit 0 when the goal is met, 1 otherwise; skipped (exit 0) without an ssh binary.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const N = Number(process.env.BENCH_N ?? 40)
const GOAL_MS = 10
const module = join(ROOT, 'dist', 'hosts', 'ssh-config.js')
if (!existsSync(module)) {
  console.error('bench/ssh-config: dist/ is missing; run `npm run build` first (npm run bench does)')
  process.exit(1)
}
if (spawnSync('ssh', ['-V']).error) {
  console.log('bench/ssh-config: skipped: no ssh binary (ORCH_HOST is then taken literally, at no cost)')
  process.exit(0)
}
const {resolveSshTarget} = await import(pathToFileURL(module).href)

const tmp = mkdtempSync(join(tmpdir(), 'orch-bench-sshcfg-'))
mkdirSync(join(tmp, '.ssh'))
writeFileSync(join(tmp, 'extra.conf'), 'Host *.internal\n  User ops\n  ProxyJump bastion\n')
writeFileSync(
  join(tmp, 'config'),
  `Include ${join(tmp, 'extra.conf')}\nHost box\n  HostName 10.0.0.5\n  User bob\n  IdentityFile ~/.ssh/box\nMatch host 10.0.0.*\n  Port 2200\nHost *\n  ServerAliveInterval 30\n`,
)
writeFileSync(join(tmp, '.ssh', 'config'), `Include ${join(tmp, 'config')}\n`)
const env = {HOME: tmp, PATH: process.env.PATH}

async function median(what) {
  const times = []
  for (let i = 0; i < N + 3; i++) {
    const start = performance.now()
    await what()
    if (i >= 3) times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

const floor = await median(() => new Promise((resolve) => spawn('true', [], {stdio: 'ignore'}).once('close', resolve)))
const alias = await median(() => resolveSshTarget('box', {configFile: join(tmp, 'config'), defaultKnownHostsPath: join(tmp, 'kh'), env}))
const home = await median(() => resolveSshTarget('x.internal', {defaultKnownHostsPath: join(tmp, 'kh'), env}))

const ssh2 = pathToFileURL(join(ROOT, 'node_modules', 'ssh2', 'lib', 'index.js')).href
const configFile = JSON.stringify(join(tmp, 'config'))
const scripts = {
  alone: `await Promise.all([import(${JSON.stringify(ssh2)}), import(${JSON.stringify(pathToFileURL(module).href)})])`,
  resolving: `const m = import(${JSON.stringify(ssh2)}); const {resolveSshTarget} = await import(${JSON.stringify(pathToFileURL(module).href)}); await resolveSshTarget('box', {configFile: ${configFile}, defaultKnownHostsPath: '/dev/null'}); await m`,
}
const wall = {alone: [], resolving: []}
for (let i = 0; i < N + 4; i++) {
  for (const kind of ['alone', 'resolving']) {
    const start = performance.now()
    await new Promise((resolve) => spawn(process.execPath, ['--input-type=module', '-e', scripts[kind]], {stdio: 'ignore', env}).once('close', resolve))
    if (i >= 2) wall[kind].push(performance.now() - start)
  }
}
rmSync(tmp, {recursive: true, force: true})
const mid = (list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]
const added = mid(wall.resolving) - mid(wall.alone)

const ok = added <= GOAL_MS
console.log(`spawn \`true\` (floor)                         ${floor.toFixed(1)} ms`)
console.log(`resolve an alias (ORCH_SSH_CONFIG)             ${alias.toFixed(1)} ms`)
console.log(`resolve through $HOME/.ssh/config              ${home.toFixed(1)} ms  (writes and removes the Include file)`)
console.log(`node + ssh2                                    ${mid(wall.alone).toFixed(1)} ms`)
console.log(`node + ssh2 while resolving (as orch does)     ${mid(wall.resolving).toFixed(1)} ms  (added ${added.toFixed(1)} ms; goal <= ${GOAL_MS} ms)`)
console.log(ok ? 'ok' : 'MISSED the goal')
process.exit(ok ? 0 : 1)
