#!/usr/bin/env node
// What resolving ORCH_HOST through `ssh -G` adds to a cloud command (issue 12.1: at most 10 ms).
//
// 1. Median wall time of resolveSshTarget() from dist/ over N runs, for an alias in a config with an
//    Include, wildcard blocks and a Match (ORCH_SSH_CONFIG), and for a plain name read through
//    $HOME/.ssh/config (HOME not the password database's home: the Include file orch writes), next
//    to the floor: spawning `true` the same way.
// 2. What a cloud command pays: a fresh node process loading ssh2 (which every connection needs)
//    with and without resolving at the same time, as sites.ts does (preloadSsh2, then ssh -G),
//    alternating, N/2 each (for information: two processes racing on 2 cores).
// 3. The goal, on the command itself: `orch status --json --where cloud` against a private loopback
//    sshd, cold (ORCH_CONTROL_PERSIST=0) and warm (a holder), with `ssh -G` and with no ssh on PATH
//    (ORCH_HOST then taken literally), alternating; the median of the paired differences must be
//    at most 10 ms.
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

// 3. The command itself, with resolution and without (no ssh on PATH), cold and warm.
const {startSandboxSshd} = await import(pathToFileURL(join(ROOT, 'dist-test', 'sandbox-sshd.js')).href)
const sandbox = await startSandboxSshd()
const cmdHome = mkdtempSync(join(tmpdir(), 'orch-bench-sshcfg-home-'))
mkdirSync(join(cmdHome, '.git'))
const noSsh = mkdtempSync(join(tmpdir(), 'orch-bench-sshcfg-nossh-'))
const cmdBase = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ORCH_') && k !== 'SSH_AUTH_SOCK' && k !== 'XDG_RUNTIME_DIR'))
const status = (extra) =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'status', '--json', '--where', 'cloud'], {
      env: {...cmdBase, ...sandbox.env(), HOME: cmdHome, NO_COLOR: '1', ...extra},
      cwd: cmdHome,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`orch status failed: ${stderr}`))))
  })
const paired = async (extra) => {
  const diffs = []
  const withG = []
  for (let i = 0; i < Math.max(10, N / 2) + 2; i++) {
    const a = await status(extra)
    const b = await status({...extra, PATH: noSsh})
    if (i >= 2) {
      diffs.push(a - b)
      withG.push(a)
    }
  }
  return {added: mid(diffs), command: mid(withG)}
}
let cold
let warm
try {
  cold = await paired({ORCH_CONTROL_PERSIST: '0'})
  warm = await paired({ORCH_CONTROL_PERSIST: '1m'})
} finally {
  spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'host', 'disconnect'], {env: {...cmdBase, ...sandbox.env(), HOME: cmdHome}, cwd: cmdHome, stdio: 'ignore'})
  spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'host', 'disconnect'], {env: {...cmdBase, ...sandbox.env(), HOME: cmdHome, PATH: noSsh}, cwd: cmdHome, stdio: 'ignore'})
  await sandbox.cleanup()
  rmSync(cmdHome, {recursive: true, force: true})
  rmSync(noSsh, {recursive: true, force: true})
}

const ok = cold.added <= GOAL_MS && warm.added <= GOAL_MS
console.log(`spawn \`true\` (floor)                         ${floor.toFixed(1)} ms`)
console.log(`resolve an alias (ORCH_SSH_CONFIG)             ${alias.toFixed(1)} ms`)
console.log(`resolve through $HOME/.ssh/config              ${home.toFixed(1)} ms  (writes and removes the Include file)`)
console.log(`node + ssh2                                    ${mid(wall.alone).toFixed(1)} ms`)
console.log(`node + ssh2 while resolving                    ${mid(wall.resolving).toFixed(1)} ms  (added ${added.toFixed(1)} ms; information)`)
console.log(`orch status --json, cold                       ${cold.command.toFixed(1)} ms  (ssh -G adds ${cold.added.toFixed(1)} ms, paired median; goal <= ${GOAL_MS} ms)`)
console.log(`orch status --json, warm (holder)              ${warm.command.toFixed(1)} ms  (ssh -G adds ${warm.added.toFixed(1)} ms, paired median; goal <= ${GOAL_MS} ms)`)
console.log(ok ? 'ok' : 'MISSED the goal')
process.exit(ok ? 0 : 1)
