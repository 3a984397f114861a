#!/usr/bin/env node
// Speed of the remote job commands against plain OpenSSH, side by side in one
// run against a private loopback sshd (the sandbox the tests use):
//
// 1. `orch run NAME --where cloud -- sleep 0` (a new name each time) vs
//    `ssh … 'mkdir -p <logRoot>/xI && tmux -L <socket> new-session -d -s xI "sleep 0"'`.
//    Goal: orch ≤ 1.5× ssh.
// 2. `orch status --json` with 200 finished jobs in history vs `ssh … true`. Goal: orch ≤ 2× ssh.
//    (`orch list --json`, which prints all 200, is shown for information.)
// 3. `orch logs NAME` of a finished job with a 100 MiB run.log, stdout to /dev/null, vs
//    `ssh … cat <run.log>` to /dev/null. Goal: orch's throughput ≥ 70% of ssh's. One more run of
//    each through a pipe checks that orch delivered exactly the file's bytes (count and sha256).
//
// Warm-ups first, then N runs (BENCH_N, default 15; BENCH_LOGS_N overrides N for the 100 MiB
// log) alternating which of the pair goes first. Medians and ratios are printed as a table.
// Needs a build (`npm run bench` builds first). Exit 0 when every goal is met, 1 otherwise. The
// sandbox (sshd, tmux server, temp dirs) is removed at the end, also on failure or Ctrl-C.
import {createHash} from 'node:crypto'
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {createRequire} from 'node:module'
import {BIN, ROOT, WARMUPS, fmtMs, fmtRate, importSandbox, median, mustRun, pairedRatio, positive as positiveOf, sandboxEnv, sideBySide, sleep, spread, table} from './lib/harness.mjs'

const positive = (name, fallback) => positiveOf(name, fallback, 'bench/remote')

const N = positive('BENCH_N', 15)
const LOGS_N = positive('BENCH_LOGS_N', N)
const HISTORY = 200
const LOG_BYTES = 100 * 1024 * 1024
const GOALS = {run: 1.5, status: 2, logs: 0.7}

// ---------------------------------------------------------------------------------------------
// Job directories written straight to the sandbox's log root, in the layout `orch run` leaves
// (see src/jobs/sh/start.sh, orch-wrapper.sh and src/jobs/job-record.ts).

const COMMANDS = [
  'npm run build',
  'python train.py --epochs 20 --lr 3e-4',
  'make -j8 all && ./scripts/deploy.sh staging',
  'node scripts/backfill.mjs --from 2026-01-01 --to 2026-02-01',
  "psql \"$DATABASE_URL\" -c 'select count(*) from events'",
  'cargo test --release -- --nocapture',
  'pytest -x tests/integration',
  'go build ./... && go test ./...',
]

function writeFinishedJob(logRoot, {name, command, host, createdMs, durationS, exit, stopped, log, wrapper}) {
  const dir = join(logRoot, name)
  mkdirSync(dir, {mode: 0o700})
  const started = Math.floor(createdMs / 1000) + 1
  const ended = started + durationS
  const meta = {name, command, target: 'cloud', host, createdAt: new Date(createdMs).toISOString(), cwd: null, envNames: name.endsWith('3') ? ['API_TOKEN'] : [], cloudwatch: false}
  const files = {
    'meta.json': `${JSON.stringify(meta)}\n`,
    'cmd.sh': command,
    cwd: '',
    'orch-wrapper.sh': wrapper,
    pid: `${10000 + Math.floor(Math.random() * 50000)}\n`,
    started: `${started}\n`,
    ended: `${ended}\n`,
    exit: `${exit}\n`,
    attempts: '1\n',
    offsets: `${started} 0\n${ended} ${typeof log === 'string' ? Buffer.byteLength(log) : LOG_BYTES + 10}\n`,
  }
  if (stopped) files.stopped = `${ended}\n`
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text, {mode: 0o600})
  if (typeof log === 'function') log(join(dir, 'run.log'))
  else writeFileSync(join(dir, 'run.log'), log, {mode: 0o600})
  return dir
}

function smallLog(command, index, exit) {
  const lines = [`$ ${command}`]
  const count = 20 + (index % 60)
  for (let i = 0; i < count; i++) lines.push(`[${String(i).padStart(4, '0')}] step ${i} of ${count}: ok (${(i * 7919) % 1000} items, ${(i * 0.37).toFixed(2)}s)`)
  if (exit !== 0) lines.push(`error: step ${count} failed with status ${exit}`)
  return `${lines.join('\n')}\n[EXIT: ${exit}]\n`
}

/** A 100 MiB log of text lines (sizes vary), then `[EXIT: 0]`; written in 4 MiB slabs. */
function writeBigLog(path) {
  const fd = openSync(path, 'w', 0o600)
  try {
    let written = 0
    let line = 0
    const slab = 4 * 1024 * 1024
    while (written < LOG_BYTES) {
      const parts = []
      let size = 0
      while (size < slab && written + size < LOG_BYTES) {
        const text = `2026-02-16T14:${String(30 + ((line / 60000) | 0) % 30).padStart(2, '0')}:${String(((line / 1000) | 0) % 60).padStart(2, '0')}.${String(line % 1000).padStart(3, '0')}Z INFO backfill batch=${line} rows=${(line * 7919) % 100000} ${'x'.repeat(line % 97)} ok\n`
        parts.push(text)
        size += text.length
        line++
      }
      let chunk = Buffer.from(parts.join(''))
      if (written + chunk.length > LOG_BYTES) chunk = Buffer.concat([chunk.subarray(0, LOG_BYTES - written - 1), Buffer.from('\n')])
      writeSync(fd, chunk)
      written += chunk.length
    }
    writeSync(fd, Buffer.from('[EXIT: 0]\n'))
  } finally {
    closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------------

/** Whether ssh2's optional native crypto binding loads, and the ciphers ssh2 offers first. */
function ssh2Crypto() {
  const require = createRequire(join(ROOT, 'package.json'))
  let binding = 'native crypto binding loaded'
  try {
    require('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node')
  } catch {
    binding = 'native crypto binding NOT built (ciphers run through per-packet node:crypto calls; transfers are about 2x slower)'
  }
  try {
    const {DEFAULT_CIPHER} = require('ssh2/lib/protocol/constants.js')
    return `${binding}; ciphers offered first: ${DEFAULT_CIPHER.slice(0, 2).join(', ')}`
  } catch {
    return binding
  }
}

// A closed stdout (e.g. `| head`) must not kill the bench before it has cleaned up.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error
})

let sandbox
let home
let failed = false
const cleanup = async () => {
  const todo = [sandbox?.cleanup().catch((error) => console.error(`bench/remote: cleanup: ${error.message}`))]
  sandbox = undefined
  await Promise.all(todo)
  if (home) rmSync(home, {recursive: true, force: true})
  home = undefined
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`bench/remote: ${signal}; cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

try {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`)
  const {startSandboxSshd} = await importSandbox()
  sandbox = await startSandboxSshd()
  home = mkdtempSync(join(tmpdir(), 'orch-bench-remote-home-'))
  mkdirSync(join(home, '.git')) // orch runs here, a project root of its own: no scripts/cloud/.env of the repo is read
  const {baseEnv, env} = sandboxEnv(sandbox, home)
  const sshArgs = sandbox.sshArgs()
  const logRoot = sandbox.logRoot
  const sock = sandbox.tmuxSocket
  const orch = (label, args, options = {}) => mustRun(`orch ${label}`, process.execPath, [BIN, ...args], {env, cwd: home, ...options})
  const ssh = (label, command, options = {}) => mustRun(`ssh ${label}`, 'ssh', [...sshArgs, command], {env: baseEnv, ...options})

  console.log(`bench/remote: orch vs OpenSSH on a loopback sshd (127.0.0.1:${sandbox.port}); node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`  ${WARMUPS} warm-ups each, then N=${N} (logs: ${LOGS_N}) alternating runs`)
  console.log(`  ssh2: ${ssh2Crypto()}`)
  const rows = []

  // 1. orch run vs ssh mkdir + tmux new-session ------------------------------------------------
  const runNames = []
  const run = await sideBySide(
    N,
    async (i) => {
      const name = `bench-run-${i}`
      runNames.push(name)
      const result = await orch('run', ['run', name, '--where', 'cloud', '--', 'sleep 0'])
      if (!new RegExp(`${name} (RUNNING|QUEUED)`).test(`${result.stdout}${result.stderr}`)) throw new Error(`orch run did not report ${name} started: ${result.stdout}${result.stderr}`)
      return result.ms
    },
    async (i) => (await ssh('tmux', `mkdir -p ${logRoot}/x${i} && tmux -L ${sock} new-session -d -s x${i} "sleep 0"`)).ms,
  )
  const runRatio = median(run.a) / median(run.b)
  rows.push(['orch run --where cloud -- sleep 0', fmtMs(median(run.a)), fmtMs(median(run.b)), `${runRatio.toFixed(2)}×`, `≤ ${GOALS.run}×`, runRatio <= GOALS.run ? 'OK' : 'MISSED'])
  if (runRatio > GOALS.run) failed = true
  console.log(`  run:    orch ${spread(run.a)} ms; ssh ${spread(run.b)} ms; median of paired ratios ${pairedRatio(run).toFixed(2)}×`)

  // The jobs just started must all have ended before their directories are replaced by the history.
  for (const name of runNames) {
    const deadline = Date.now() + 20_000
    while (!existsSync(join(logRoot, name, 'exit'))) {
      if (Date.now() > deadline) throw new Error(`job ${name} did not end: ${readFileSync(join(logRoot, name, 'run.log'), 'utf8')}`)
      await sleep(100)
    }
    if (readFileSync(join(logRoot, name, 'exit'), 'utf8').trim() !== '0') throw new Error(`job ${name} did not exit 0`)
  }
  for (const entry of readdirSync(logRoot)) rmSync(join(logRoot, entry), {recursive: true, force: true})

  // 2. orch status --json with 200 jobs vs ssh true --------------------------------------------
  const wrapper = readFileSync(join(ROOT, 'dist', 'jobs', 'sh', 'orch-wrapper.sh'), 'utf8')
  const hostLabel = `${sandbox.user}@[127.0.0.1]:${sandbox.port}`
  const now = Date.now()
  const bigName = 'lros-backfill-20260216-1430'
  let bigLog
  for (let i = 0; i < HISTORY; i++) {
    const command = COMMANDS[i % COMMANDS.length]
    const exit = i % 11 === 5 ? 1 : i % 23 === 7 ? 143 : 0
    const createdMs = now - (i + 1) * 3.5 * 3600_000 // one job every 3.5 h over the last ~29 days
    const name = i === 0 ? bigName : `proj${i % 5}-task${i}-${new Date(createdMs).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}`
    const log = i === 0 ? (path) => writeBigLog((bigLog = path)) : smallLog(command, i, exit)
    writeFinishedJob(logRoot, {name, command, host: hostLabel, createdMs, durationS: 5 + ((i * 37) % 3600), exit, stopped: exit === 143, log, wrapper})
  }
  const bigSize = statSync(bigLog).size
  const listCheck = JSON.parse((await orch('list', ['list', '--json', '--where', 'cloud'])).stdout)
  if (listCheck.length !== HISTORY) throw new Error(`orch list --json shows ${listCheck.length} jobs, expected ${HISTORY}`)
  const states = listCheck.reduce((acc, job) => ({...acc, [job.state]: (acc[job.state] ?? 0) + 1}), {})
  console.log(`  history: ${HISTORY} finished jobs on the host (${Object.entries(states).map(([s, c]) => `${c} ${s}`).join(', ')})`)

  const status = await sideBySide(
    N,
    async () => {
      const result = await orch('status', ['status', '--json'])
      if (!Array.isArray(JSON.parse(result.stdout))) throw new Error(`orch status --json printed ${result.stdout}`)
      return result.ms
    },
    async () => (await ssh('true', 'true')).ms,
  )
  const statusRatio = median(status.a) / median(status.b)
  rows.push([`orch status --json (${HISTORY} jobs)`, fmtMs(median(status.a)), fmtMs(median(status.b)), `${statusRatio.toFixed(2)}×`, `≤ ${GOALS.status}×`, statusRatio <= GOALS.status ? 'OK' : 'MISSED'])
  if (statusRatio > GOALS.status) failed = true
  console.log(`  status: orch ${spread(status.a)} ms; ssh ${spread(status.b)} ms; median of paired ratios ${pairedRatio(status).toFixed(2)}×`)

  // For information: orch list --json (prints all 200) and the list script over plain ssh.
  const listN = Math.max(3, Math.ceil(N / 3))
  const list = await sideBySide(listN, async () => (await orch('list', ['list', '--json'])).ms, async () => (await ssh('true', 'true')).ms)
  rows.push([`orch list --json (${HISTORY} jobs; info, N=${listN})`, fmtMs(median(list.a)), fmtMs(median(list.b)), `${(median(list.a) / median(list.b)).toFixed(2)}×`, '-', 'info'])

  // 3. orch logs of 100 MiB vs ssh cat ---------------------------------------------------------
  // For information first: the fixed cost of each, on a small finished log (a few KB).
  const small = listCheck.find((job) => job.name !== bigName)
  const fixedCost = await sideBySide(
    listN,
    async () => (await orch('logs', ['logs', small.name], {stdout: 'devnull'})).ms,
    async () => (await ssh('cat', `cat ${small.logPath}`, {stdout: 'devnull'})).ms,
  )
  rows.push([`orch logs of a ${statSync(small.logPath).size}-byte log (info, N=${listN})`, fmtMs(median(fixedCost.a)), fmtMs(median(fixedCost.b)), `${(median(fixedCost.a) / median(fixedCost.b)).toFixed(2)}×`, '-', 'info'])

  const logs = await sideBySide(
    LOGS_N,
    async () => (await orch('logs', ['logs', bigName], {stdout: 'devnull'})).ms,
    async () => (await ssh('cat', `cat ${bigLog}`, {stdout: 'devnull'})).ms,
  )
  const orchRate = bigSize / median(logs.a)
  const sshRate = bigSize / median(logs.b)
  const logsRatio = orchRate / sshRate
  rows.push([`orch logs (${(bigSize / 1048576).toFixed(0)} MiB) > /dev/null`, `${fmtMs(median(logs.a))} ${fmtRate(orchRate)}`, `${fmtMs(median(logs.b))} ${fmtRate(sshRate)}`, `${(logsRatio * 100).toFixed(0)}% of ssh`, `≥ ${GOALS.logs * 100}%`, logsRatio >= GOALS.logs ? 'OK' : 'MISSED'])
  if (logsRatio < GOALS.logs) failed = true
  console.log(`  logs:   orch ${spread(logs.a)} ms; ssh ${spread(logs.b)} ms; median of paired throughput ratios ${(pairedRatio(logs, true) * 100).toFixed(0)}%`)

  // Exactly the file's bytes, through a pipe (counted and hashed here), for both.
  const fileHash = createHash('sha256').update(readFileSync(bigLog)).digest('hex')
  const orchPiped = await orch('logs', ['logs', bigName], {stdout: 'count'})
  const sshPiped = await ssh('cat', `cat ${bigLog}`, {stdout: 'count'})
  const orchExact = orchPiped.bytes === bigSize && orchPiped.sha256 === fileHash
  const sshExact = sshPiped.bytes === bigSize && sshPiped.sha256 === fileHash
  rows.push(['orch logs through a pipe (1 run; info)', `${fmtMs(orchPiped.ms)} ${fmtRate(bigSize / orchPiped.ms)}`, `${fmtMs(sshPiped.ms)} ${fmtRate(bigSize / sshPiped.ms)}`, `${((bigSize / orchPiped.ms / (bigSize / sshPiped.ms)) * 100).toFixed(0)}% of ssh`, '-', 'info'])
  console.log(`  bytes:  file ${bigSize}; orch delivered ${orchPiped.bytes} (${orchExact ? 'exact, sha256 matches' : 'MISMATCH'}); ssh cat ${sshPiped.bytes} (${sshExact ? 'exact' : 'MISMATCH'})`)
  if (!orchExact) failed = true

  console.log('')
  table(rows)
  console.log(`  load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} catch (error) {
  console.error(`bench/remote: ${error.stack ?? error.message}`)
  failed = true
} finally {
  await cleanup()
}

console.log(`bench/remote: ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
