#!/usr/bin/env node
// Speed of the host engine (the job library's list/status/follow scripts on the host) against plain
// OpenSSH, side by side in one run against a private loopback sshd (the sandbox the tests use):
//
// 1. `orch status --json` with 50 RUNNING jobs (real `orch run … -- sleep 600`) vs `ssh … true`.
//    Goal: orch ≤ 1.5× ssh. The jobs are stopped with `orch stop` afterwards.
// 2. `orch logs -f NAME` delay: a real job runs `sleep 600`; this bench appends numbered lines to
//    its run.log itself (loopback: the host's file is on this filesystem), 20–50 ms apart, noting
//    process.hrtime at each write, and takes the time each line arrives on the follower's stdout
//    pipe. Followers, in alternating rounds: `orch logs -f NAME` and `ssh … tail -c +1 -f <run.log>`.
//    Goals (absolute): orch median ≤ 5 ms, p99 ≤ 20 ms; the ratios to ssh tail are printed.
//    Each follower's whole output is checked against the file's bytes.
// 3. `orch list --json --where cloud` with 200, 10,000 and 100,000 finished jobs vs `ssh … true`.
//    Goals: ≤ 2× at 200 and 10,000, ≤ 4× at 100,000; every job must be listed (array length = N).
//    The jobs are clones of a few real finished jobs (`orch run --wait … -- true`, `-- false`, …):
//    each template directory copied file for file (modes and times kept, like cp -a) under a new
//    name, with the name field of meta.json rewritten (the only file in a job directory holding
//    the name; see start.sh). The host's index of finished jobs (<logRoot>/.orch-index) is removed
//    before each size, so the first list (cold: builds the index) is timed on its own, for
//    information; then one warm-up list, then the measured pairs. The list script run over plain
//    OpenSSH (`ssh … sh -c <list script>`) is timed too, for information: it splits orch's time
//    into the host's part and the client's part.
//
// Knobs: BENCH_N (pairs for status and the 200/10k lists, default 10), BENCH_BIG_N (pairs for lists
// above 10,000 jobs, default 5), BENCH_JOBS (list sizes, default 200,10000,100000), BENCH_RUNNING
// (running jobs for status, default 50), BENCH_FOLLOW_LINES (lines per follower, default 200).
// Needs a build (`npm run bench` builds first). Exit 0 when every goal is met, 1 otherwise. The
// sandbox (sshd, tmux server, temp dirs) is removed at the end, also on failure or Ctrl-C.
import {spawn} from 'node:child_process'
import {appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, fmtMs, importDist, importSandbox, median, mustRun, pairedRatio, percentile, positive as positiveOf, sandboxEnv, sideBySide, sleep, spread, table, timed} from './lib/harness.mjs'

const LABEL = 'bench/host-engine'
const positive = (name, fallback) => positiveOf(name, fallback, LABEL)
const N = positive('BENCH_N', 10)
const BIG_N = positive('BENCH_BIG_N', 5)
const RUNNING = positive('BENCH_RUNNING', 50)
const FOLLOW_LINES = positive('BENCH_FOLLOW_LINES', 200)
const SIZES = (process.env.BENCH_JOBS ?? '200,10000,100000').split(',').map((text) => {
  const value = Number(text.trim())
  if (!Number.isInteger(value) || value < 10) {
    console.error(`${LABEL}: BENCH_JOBS=${process.env.BENCH_JOBS}: each size must be a whole number ≥ 10`)
    process.exit(2)
  }
  return value
}).sort((a, b) => a - b)
const GOALS = {status: 1.5, list: (jobs) => (jobs <= 10_000 ? 2 : 4), followMedianMs: 5, followP99Ms: 20}
const FOLLOW_ROUNDS = 4 // orch, ssh, orch, ssh
const STATUS_SLEEP = 'sleep 600'

// A closed stdout (e.g. `| head`) must not kill the bench before it has cleaned up.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error
})

let sandbox
let home
let failed = false
const followers = new Set()
const cleanup = async () => {
  for (const child of followers) child.kill('SIGKILL')
  followers.clear()
  const todo = [sandbox?.cleanup().catch((error) => console.error(`${LABEL}: cleanup: ${error.message}`))]
  sandbox = undefined
  await Promise.all(todo)
  if (home) rmSync(home, {recursive: true, force: true})
  home = undefined
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`${LABEL}: ${signal}; cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

const ms = (ns) => Number(ns) / 1e6
const fmtDelay = (value) => `${value.toFixed(2)} ms`
const verdict = (ok) => {
  if (!ok) failed = true
  return ok ? 'OK' : 'MISSED'
}
const countBy = (jobs, key) => Object.entries(jobs.reduce((acc, job) => ({...acc, [job[key]]: (acc[job[key]] ?? 0) + 1}), {})).sort(([x], [y]) => x.localeCompare(y)).map(([k, c]) => `${c} ${k}`).join(', ')

/** Run `worker` over `items`, at most `limit` at a time. */
async function pool(items, limit, worker) {
  let next = 0
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length) await worker(items[next++])
  }))
}

/** Wait until `check()` is true, polling; throws `what` after `timeoutMs`. */
async function until(what, check, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: clones of real job directories.

/** A template job directory read once: every file with its bytes, mode and times. */
function readTemplate(logRoot, name) {
  const dir = join(logRoot, name)
  const dirStat = statSync(dir)
  const files = readdirSync(dir).map((file) => {
    const path = join(dir, file)
    const st = statSync(path)
    if (!st.isFile()) throw new Error(`template ${name}: ${file} is not a plain file`)
    return {file, bytes: readFileSync(path), mode: st.mode & 0o7777, atime: st.atime, mtime: st.mtime}
  })
  const meta = files.find((f) => f.file === 'meta.json')
  const pattern = `"name":${JSON.stringify(name)}`
  if (!meta || meta.bytes.toString().split(pattern).length !== 2) throw new Error(`template ${name}: meta.json does not hold ${pattern} exactly once`)
  // No other file names the job (its directory's name is all start.sh and the wrapper go by).
  for (const f of files) if (f.file !== 'meta.json' && f.bytes.includes(name)) throw new Error(`template ${name}: ${f.file} holds the job's name; the clone would need it rewritten`)
  return {name, mode: dirStat.mode & 0o7777, atime: dirStat.atime, mtime: dirStat.mtime, files, pattern}
}

/** `cp -a <template> <logRoot>/<name>` then the sed of meta.json's name field. */
function cloneJob(logRoot, template, name) {
  const dir = join(logRoot, name)
  mkdirSync(dir, {mode: template.mode})
  for (const f of template.files) {
    const path = join(dir, f.file)
    if (f.file === 'meta.json') {
      writeFileSync(path, f.bytes.toString().replace(template.pattern, `"name":${JSON.stringify(name)}`), {mode: f.mode})
    } else {
      writeFileSync(path, f.bytes, {mode: f.mode})
      utimesSync(path, f.atime, f.mtime)
    }
  }
  utimesSync(dir, template.atime, template.mtime)
}

// ---------------------------------------------------------------------------------------------
// Followers: lines appended to run.log here, their arrival on a follower's stdout timed.

/**
 * Start a follower (`file args`), wait until it has printed the log up to the ready line, append
 * `lines` numbered lines 20–50 ms apart and resolve with each line's delay (write → arrival on the
 * follower's stdout pipe, ms). Checks that the follower printed exactly the file's bytes.
 */
async function followRound({round, file, args, env, cwd, log, lines}) {
  const ready = `bench-ready r${round} ${process.pid}`
  appendFileSync(log, `${ready}\n`)
  const child = spawn(file, args, {env, cwd, stdio: ['ignore', 'pipe', 'pipe']})
  followers.add(child)
  const arrived = new Map() // seq → hrtime (ns)
  const chunks = []
  let partial = ''
  let sawReady = false
  let stderr = ''
  let exited
  const linePattern = new RegExp(`^bench-line r${round} s(\\d+) `)
  child.stdout.on('data', (chunk) => {
    const at = process.hrtime.bigint()
    chunks.push(chunk)
    const text = partial + chunk.toString('latin1')
    const parts = text.split('\n')
    partial = parts.pop()
    for (const line of parts) {
      if (line === ready) sawReady = true
      const match = linePattern.exec(line)
      if (match && !arrived.has(Number(match[1]))) arrived.set(Number(match[1]), at)
    }
  })
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve((exited = code ?? signal))))
  try {
    await until(`the follower of round ${round} to print the log so far (${file} ${args.at(-1)})`, () => sawReady || exited !== undefined, 30_000, 5)
    if (!sawReady) throw new Error(`follower exited ${exited} before printing the log: ${stderr.trim()}`)
    const written = []
    for (let seq = 0; seq < lines; seq++) {
      await sleep(20 + Math.random() * 30)
      const line = `bench-line r${round} s${seq} ${'.'.repeat(40 + (seq % 40))}\n`
      written.push(process.hrtime.bigint())
      appendFileSync(log, line)
    }
    await until(`round ${round}: all ${lines} lines on the follower's stdout (${arrived.size} arrived)`, () => arrived.size === lines || exited !== undefined, 10_000, 5)
    if (arrived.size !== lines) throw new Error(`follower exited ${exited} with ${arrived.size} of ${lines} lines: ${stderr.trim()}`)
    await sleep(50)
    const printed = Buffer.concat(chunks)
    const content = readFileSync(log)
    if (!printed.equals(content)) throw new Error(`round ${round}: the follower printed ${printed.length} bytes, the log holds ${content.length} (${printed.equals(content.subarray(0, printed.length)) ? 'a prefix' : 'different bytes'})`)
    return written.map((at, seq) => ms(arrived.get(seq) - at))
  } finally {
    child.kill('SIGTERM')
    await Promise.race([closed, sleep(5000)])
    if (exited === undefined) child.kill('SIGKILL')
    followers.delete(child)
  }
}

// ---------------------------------------------------------------------------------------------

try {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`)
  const {startSandboxSshd} = await importSandbox()
  const {controlScript} = await importDist('jobs/host-scripts.js')
  const {shellCommand} = await importDist('hosts/shell-words.js')
  sandbox = await startSandboxSshd()
  home = mkdtempSync(join(tmpdir(), 'orch-bench-host-engine-home-'))
  mkdirSync(join(home, '.git')) // orch runs here, a project root of its own: no scripts/cloud/.env of the repo is read
  const {baseEnv, env} = sandboxEnv(sandbox, home)
  const sshArgs = sandbox.sshArgs()
  const logRoot = sandbox.logRoot
  const orch = (label, args, options = {}) => mustRun(`orch ${label}`, process.execPath, [BIN, ...args], {env, cwd: home, ...options})
  const ssh = (label, command, options = {}) => mustRun(`ssh ${label}`, 'ssh', [...sshArgs, command], {env: baseEnv, ...options})
  const sshTrue = async () => (await ssh('true', 'true')).ms
  const cloudJobs = async (args) => JSON.parse((await orch(args[0], [...args, '--json', '--where', 'cloud'])).stdout)

  console.log(`${LABEL}: orch vs OpenSSH on a loopback sshd (127.0.0.1:${sandbox.port}); node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`  N=${N} alternating pairs (lists above 10,000 jobs: ${BIG_N}); ${RUNNING} running jobs for status; ${FOLLOW_LINES} lines per follower; list sizes ${SIZES.join(', ')}`)
  const rows = []
  const t0 = Date.now()

  // 1. orch status --json with RUNNING running jobs vs ssh true ---------------------------------
  const sleepers = Array.from({length: RUNNING}, (_, i) => `bench-sleep-${String(i).padStart(3, '0')}`)
  for (const name of sleepers) await orch('run', ['run', name, '--where', 'cloud', '--max-parallel', String(RUNNING + 10), '--', STATUS_SLEEP])
  const runningNow = async () => (await cloudJobs(['status'])).filter((job) => job.state === 'RUNNING').length
  await until(`${RUNNING} jobs RUNNING`, async () => (await runningNow()) === RUNNING, 60_000, 500)
  console.log(`  status: ${RUNNING} jobs started with orch run --where cloud -- ${STATUS_SLEEP}; all RUNNING (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
  const status = await sideBySide(
    N,
    async () => {
      const result = await orch('status', ['status', '--json'])
      const jobs = JSON.parse(result.stdout)
      const running = jobs.filter((job) => job.state === 'RUNNING' && job.target === 'cloud').length
      if (running !== RUNNING) throw new Error(`orch status --json shows ${running} RUNNING jobs, expected ${RUNNING}: ${countBy(jobs, 'state')}`)
      return result.ms
    },
    sshTrue,
  )
  const statusRatio = median(status.a) / median(status.b)
  rows.push([`orch status --json (${RUNNING} RUNNING)`, fmtMs(median(status.a)), fmtMs(median(status.b)), `${statusRatio.toFixed(2)}×`, `≤ ${GOALS.status}×`, verdict(statusRatio <= GOALS.status)])
  console.log(`  status: orch ${spread(status.a)} ms; ssh ${spread(status.b)} ms; median of paired ratios ${pairedRatio(status).toFixed(2)}×`)

  await pool(sleepers, 4, (name) => orch('stop', ['stop', name, '--where', 'cloud']))
  await until('the stopped jobs to end', () => sleepers.every((name) => existsSync(join(logRoot, name, 'exit'))), 60_000)
  const stoppedStates = await cloudJobs(['list'])
  if (stoppedStates.some((job) => job.state !== 'STOPPED')) throw new Error(`after orch stop: ${countBy(stoppedStates, 'state')}`)
  console.log(`  status: all ${RUNNING} stopped with orch stop (${countBy(stoppedStates, 'state')})`)

  // 2. orch logs -f vs ssh tail -f: delay from write to stdout -----------------------------------
  const followName = 'bench-follow'
  await orch('run', ['run', followName, '--where', 'cloud', '--', STATUS_SLEEP])
  await until(`${followName} RUNNING`, async () => (await cloudJobs(['status'])).some((job) => job.name === followName && job.state === 'RUNNING'), 30_000, 300)
  const followLog = join(logRoot, followName, 'run.log')
  for (let i = 0; i < 20; i++) appendFileSync(followLog, `existing line ${i} of the job's log ${'-'.repeat(i * 3)}\n`)
  const delays = {orch: [], ssh: []}
  const perRound = Math.ceil(FOLLOW_LINES / (FOLLOW_ROUNDS / 2))
  for (let round = 0; round < FOLLOW_ROUNDS; round++) {
    const who = round % 2 === 0 ? 'orch' : 'ssh'
    const lines = Math.min(perRound, FOLLOW_LINES - delays[who].length)
    const follower = who === 'orch'
      ? {file: process.execPath, args: [BIN, 'logs', '-f', followName, '--where', 'cloud'], env, cwd: home}
      : {file: 'ssh', args: [...sshArgs, `tail -c +1 -f ${followLog}`], env: baseEnv, cwd: home}
    delays[who].push(...(await followRound({round, ...follower, log: followLog, lines})))
  }
  // A `tail -f` left on the host by a killed ssh client ends at its next write (SIGPIPE).
  appendFileSync(followLog, 'bench: followers done\n')
  const follow = Object.fromEntries(Object.entries(delays).map(([who, values]) => [who, {median: median(values), p99: percentile(values, 99), max: Math.max(...values), min: Math.min(...values)}]))
  rows.push([`orch logs -f: delay, median (${FOLLOW_LINES} lines)`, fmtDelay(follow.orch.median), fmtDelay(follow.ssh.median), `${(follow.orch.median / follow.ssh.median).toFixed(2)}×`, `≤ ${GOALS.followMedianMs} ms`, verdict(follow.orch.median <= GOALS.followMedianMs)])
  rows.push([`orch logs -f: delay, p99 (${FOLLOW_LINES} lines)`, fmtDelay(follow.orch.p99), fmtDelay(follow.ssh.p99), `${(follow.orch.p99 / follow.ssh.p99).toFixed(2)}×`, `≤ ${GOALS.followP99Ms} ms`, verdict(follow.orch.p99 <= GOALS.followP99Ms)])
  console.log(`  follow: orch min ${follow.orch.min.toFixed(2)}, max ${follow.orch.max.toFixed(2)} ms; ssh tail -f min ${follow.ssh.min.toFixed(2)}, max ${follow.ssh.max.toFixed(2)} ms; ${FOLLOW_ROUNDS} alternating rounds, output checked byte for byte`)
  await orch('stop', ['stop', followName, '--where', 'cloud'])
  await until(`${followName} to end`, () => existsSync(join(logRoot, followName, 'exit')), 30_000)

  // 3. orch list --json --where cloud with 200 / 10,000 / 100,000 finished jobs vs ssh true -------
  for (const entry of readdirSync(logRoot)) rmSync(join(logRoot, entry), {recursive: true, force: true})
  const templateRuns = [
    {name: 'bench-tmpl-ok', command: 'true', exit: 0},
    {name: 'bench-tmpl-fail', command: 'false', exit: 1},
    {name: 'bench-tmpl-output', command: "printf 'step %s ok\\n' 1 2 3 4 5", exit: 0},
    {name: 'bench-tmpl-exit3', command: 'echo giving up; exit 3', exit: 3},
  ]
  for (const {name, command, exit} of templateRuns) {
    const result = await timed(process.execPath, [BIN, 'run', name, '--where', 'cloud', '--wait', '--', command], {env, cwd: home})
    if (result.code !== exit) throw new Error(`orch run --wait ${name} -- ${command} exited ${result.code}, expected ${exit}: ${result.stderr.trim()}`)
  }
  const templates = templateRuns.map(({name}) => readTemplate(logRoot, name))
  const stateOf = (j) => (templateRuns[j % templateRuns.length].exit === 0 ? 'DONE' : 'FAILED')
  console.log(`  list: ${templates.length} template jobs made by orch run --wait (${templateRuns.map((t) => `-- ${t.command}`).join('; ')}); a job directory holds ${templates[0].files.map((f) => f.file).join(' ')}`)
  const listScript = shellCommand(['sh', '-c', controlScript('list'), 'orch', logRoot, sandbox.tmuxSocket])
  let jobs = templates.length
  for (const size of SIZES) {
    const cloneStart = Date.now()
    for (; jobs < size; jobs++) cloneJob(logRoot, templates[jobs % templates.length], `hist-${String(jobs).padStart(6, '0')}`)
    const cloneMs = Date.now() - cloneStart
    rmSync(join(logRoot, '.orch-index'), {force: true})
    const check = (result) => {
      const listed = JSON.parse(result.stdout)
      if (listed.length !== size) throw new Error(`orch list --json --where cloud shows ${listed.length} jobs, expected ${size}`)
      return listed
    }
    const orchList = async () => {
      const result = await orch('list', ['list', '--json', '--where', 'cloud'])
      check(result)
      return result.ms
    }
    const cold = await orch('list', ['list', '--json', '--where', 'cloud'])
    const listed = check(cold)
    const expected = countBy(Array.from({length: size}, (_, j) => ({state: stateOf(j)})), 'state')
    if (countBy(listed, 'state') !== expected) throw new Error(`orch list shows ${countBy(listed, 'state')}, expected ${expected}`)
    const indexLines = readFileSync(join(logRoot, '.orch-index'), 'utf8').split('\n').filter(Boolean).length
    if (indexLines !== size) throw new Error(`the index holds ${indexLines} records after the first list, expected ${size}`)
    const pairs = size > 10_000 ? BIG_N : N
    const list = await sideBySide(pairs, orchList, sshTrue, 1)
    const ratio = median(list.a) / median(list.b)
    const goal = GOALS.list(size)
    rows.push([`orch list --json (${size.toLocaleString('en-US')} jobs, N=${pairs})`, fmtMs(median(list.a)), fmtMs(median(list.b)), `${ratio.toFixed(2)}×`, `≤ ${goal}×`, verdict(ratio <= goal)])
    // For information: the cold list, and the list script over plain OpenSSH (the host's share).
    const script = []
    for (let i = 0; i < Math.min(3, pairs); i++) script.push(await ssh('list script', listScript))
    const scriptOut = script[0].stdout
    const records = scriptOut.split('\n').filter((line) => line.startsWith('J\t')).length
    rows.push([`  first list, builds the index (info)`, fmtMs(cold.ms), '-', `${(cold.ms / median(list.b)).toFixed(2)}×`, '-', 'info'])
    rows.push([`  ssh sh -c <list script> (info, N=${script.length})`, '-', fmtMs(median(script.map((r) => r.ms))), `${(median(script.map((r) => r.ms)) / median(list.b)).toFixed(2)}×`, '-', 'info'])
    if (records !== size) throw new Error(`the list script printed ${records} records, expected ${size}`)
    console.log(`  list ${size}: ${countBy(listed, 'state')}; cloned in ${(cloneMs / 1000).toFixed(1)} s; first list ${fmtMs(cold.ms)} (index built: ${indexLines} records), then 1 warm-up; orch ${spread(list.a)} ms; ssh ${spread(list.b)} ms; median of paired ratios ${pairedRatio(list).toFixed(2)}×; list script output ${(Buffer.byteLength(scriptOut) / 1e6).toFixed(2)} MB, orch's JSON ${(Buffer.byteLength(cold.stdout) / 1e6).toFixed(2)} MB`)
  }

  console.log('')
  table(rows)
  console.log(`  load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${((Date.now() - t0) / 1000).toFixed(0)} s`)
} catch (error) {
  console.error(`${LABEL}: ${error.stack ?? error.message}`)
  failed = true
} finally {
  await cleanup()
}

console.log(`${LABEL}: ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
