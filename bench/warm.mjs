#!/usr/bin/env node
// Connection reuse (issue 13): orch with a live holder (ORCH_CONTROL_PERSIST), orch without one
// (ORCH_CONTROL_PERSIST=0) and plain OpenSSH, side by side in one run against a private loopback
// sshd (the sandbox the tests use); OpenSSH through a warm ControlMaster is printed as the floor.
//
// 1. warm `orch status --json` vs `ssh … true`. Goal ≤ 0.5×.
// 2. warm `orch run NAME --where cloud -- sleep 0` vs `ssh … 'mkdir -p <logRoot>/xI && tmux -L <socket>
//    new-session -d -s xI "sleep 0"'`. Goal ≤ 0.6×.
// 3. cold `orch run` (ORCH_CONTROL_PERSIST=0) vs the same ssh. Goal ≤ 1.3×.
//
// Warm-ups first, then N rounds (BENCH_N, default 15); each round runs every series once, the order
// rotating from round to round. Medians and ratios are printed as a table. Needs a build. Exit 0
// when every goal is met, 1 otherwise. The sandbox, the holder and the master are ended at the end.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, WARMUPS, fmtMs, importSandbox, median, mustRun, positive as positiveOf, sandboxEnv, sleep, spread, table, timed, holdersUnder} from './lib/harness.mjs'

const N = positiveOf('BENCH_N', 15, 'bench/warm')
const GOALS = {status: 0.5, warmRun: 0.6, coldRun: 1.3}

process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error
})

let sandbox
let home
let masterArgs
let failed = false
const holders = () => holdersUnder(home)
const cleanup = async () => {
  if (masterArgs) await timed('ssh', [...masterArgs.slice(0, -1), '-O', 'exit', masterArgs.at(-1)]).catch(() => undefined)
  masterArgs = undefined
  for (const pid of holders()) {
    try {
      process.kill(Number(pid), 'SIGTERM')
    } catch {}
  }
  await sandbox?.cleanup().catch((error) => console.error(`bench/warm: cleanup: ${error.message}`))
  sandbox = undefined
  if (home) rmSync(home, {recursive: true, force: true})
  home = undefined
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`bench/warm: ${signal}; cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

try {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing`)
  const {startSandboxSshd} = await importSandbox()
  sandbox = await startSandboxSshd()
  home = mkdtempSync(join(tmpdir(), 'orch-bench-warm-'))
  mkdirSync(join(home, '.git'))
  const {baseEnv, env} = sandboxEnv(sandbox, home)
  const coldEnv = {...env, ORCH_CONTROL_PERSIST: '0'}
  const sshArgs = sandbox.sshArgs()
  const destination = sshArgs.at(-1)
  masterArgs = [...sshArgs.slice(0, -1), '-o', `ControlPath=${join(home, 'cm-%C')}`, destination]
  const logRoot = sandbox.logRoot
  const sock = sandbox.tmuxSocket
  const orch = (label, args, options) => mustRun(`orch ${label}`, process.execPath, [BIN, ...args], {cwd: home, ...options})
  const ssh = (label, args, command) => mustRun(`ssh ${label}`, 'ssh', [...args, command], {env: baseEnv})
  const tmuxLine = (name) => `mkdir -p ${logRoot}/${name} && tmux -L ${sock} new-session -d -s ${name} "sleep 0"`

  // OpenSSH's own master, persisting for the whole run.
  await mustRun('ssh -M', 'ssh', [...masterArgs.slice(0, -1), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=yes', '-f', '-N', destination], {env: baseEnv})
  // orch's holder: the first command connects and leaves it.
  await orch('status (first)', ['status', '--json'], {env})
  for (let waited = 0; holders().length === 0 || !existsSync(join(home, '.orch', 'cm')) || readdirSync(join(home, '.orch', 'cm')).length === 0; waited += 100) {
    if (waited > 30_000) throw new Error('no holder after 30 s')
    await sleep(100)
  }

  console.log(`bench/warm: orch (holder, none) vs OpenSSH (plain, ControlMaster) on a loopback sshd (127.0.0.1:${sandbox.port}); node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`  ${WARMUPS} warm-up rounds, then N=${N} rounds, each series once per round in rotating order`)

  let run = 0
  const series = {
    statusWarm: async () => {
      const result = await orch('status', ['status', '--json'], {env})
      if (!Array.isArray(JSON.parse(result.stdout))) throw new Error(`orch status --json printed ${result.stdout}`)
      return result.ms
    },
    sshTrue: async () => (await ssh('true', sshArgs, 'true')).ms,
    cmTrue: async () => (await ssh('true (master)', masterArgs, 'true')).ms,
    runWarm: async () => {
      const name = `warm-${run++}`
      const result = await orch('run', ['run', name, '--where', 'cloud', '--', 'sleep 0'], {env})
      if (!new RegExp(`${name} (RUNNING|QUEUED)`).test(result.stderr + result.stdout)) throw new Error(`orch run did not start ${name}: ${result.stderr}`)
      return result.ms
    },
    runCold: async () => {
      const name = `cold-${run++}`
      const result = await orch('run (cold)', ['run', name, '--where', 'cloud', '--', 'sleep 0'], {env: coldEnv})
      if (!new RegExp(`${name} (RUNNING|QUEUED)`).test(result.stderr + result.stdout)) throw new Error(`orch run did not start ${name}: ${result.stderr}`)
      return result.ms
    },
    sshRun: async () => (await ssh('tmux', sshArgs, tmuxLine(`x${run++}`))).ms,
    // What any Node command pays before its first line runs: the floor under every orch series.
    nodeStart: async () => (await mustRun('node -e 0', process.execPath, ['-e', '0'])).ms,
    cmRun: async () => (await ssh('tmux (master)', masterArgs, tmuxLine(`m${run++}`))).ms,
  }
  const names = Object.keys(series)
  const samples = Object.fromEntries(names.map((name) => [name, []]))
  for (let round = -WARMUPS; round < N; round++) {
    const shift = ((round % names.length) + names.length) % names.length
    for (const name of [...names.slice(shift), ...names.slice(0, shift)]) {
      const ms = await series[name]()
      if (round >= 0) samples[name].push(ms)
    }
  }
  if (holders().length !== 1) throw new Error(`${holders().length} holders at the end, expected 1`)

  const m = Object.fromEntries(names.map((name) => [name, median(samples[name])]))
  const rows = []
  const row = (label, orchName, sshName, cmName, goal) => {
    const ratio = m[orchName] / m[sshName]
    const ok = ratio <= goal
    if (!ok) failed = true
    rows.push([label, fmtMs(m[orchName]), fmtMs(m[sshName]), fmtMs(m[cmName]), `${ratio.toFixed(2)}×`, `≤ ${goal}×`, ok ? 'OK' : 'MISSED'])
  }
  row('warm orch status --json vs ssh true', 'statusWarm', 'sshTrue', 'cmTrue', GOALS.status)
  row('warm orch run vs ssh mkdir+tmux', 'runWarm', 'sshRun', 'cmRun', GOALS.warmRun)
  row('cold orch run (PERSIST=0) vs ssh mkdir+tmux', 'runCold', 'sshRun', 'cmRun', GOALS.coldRun)
  for (const name of names) console.log(`  ${name.padEnd(10)} median ${fmtMs(m[name])}; ${spread(samples[name])} ms`)
  console.log(`  node -e 0 alone is ${(m.nodeStart / m.sshTrue).toFixed(2)}× ssh true and ${(m.nodeStart / m.sshRun).toFixed(2)}× ssh mkdir+tmux: no Node command goes below that`)
  console.log('')
  table(rows, ['measurement', 'orch (median)', 'ssh (median)', 'ssh ControlMaster (floor)', 'ratio', 'goal', 'result'])
  console.log(`  load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} catch (error) {
  console.error(`bench/warm: ${error.stack ?? error.message}`)
  failed = true
} finally {
  await cleanup()
}

console.log(`bench/warm: ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
