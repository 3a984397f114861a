#!/usr/bin/env node
// orch mcp: a `status` tool call on a running server (the MCP SDK's own client over stdio) vs
// `orch status --json` as a process, side by side in one run against a private loopback sshd (the
// sandbox the tests use), with 5 jobs running there. The process gets its best case: a warm
// connection holder (ORCH_CONTROL_PERSIST, the default). Goal ≤ 0.2×.
//
// Warm-ups first, then N pairs (BENCH_N, default 20) alternating which goes first; the ratio is the
// median of the per-pair ratios. Needs a build. Exit 0 when the goal is met, 1 otherwise. The
// server, the holder, the jobs and the sandbox are ended at the end.
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'

import {BIN, fmtMs, importSandbox, median, mustRun, pairedRatio, positive, sandboxEnv, sideBySide, spread, table, holdersUnder} from './lib/harness.mjs'

const N = positive('BENCH_N', 20, 'bench/mcp')
const GOAL = 0.2
const JOBS = 5

let sandbox
let home
let client
let failed = false
const holders = () => holdersUnder(home)
const cleanup = async () => {
  await client?.close().catch(() => undefined)
  client = undefined
  for (const pid of holders()) {
    try {
      process.kill(Number(pid), 'SIGTERM')
    } catch {}
  }
  await sandbox?.cleanup().catch((error) => console.error(`bench/mcp: cleanup: ${error.message}`))
  sandbox = undefined
  if (home) rmSync(home, {recursive: true, force: true})
  home = undefined
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`bench/mcp: ${signal}; cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

try {
  const {startSandboxSshd} = await importSandbox()
  sandbox = await startSandboxSshd()
  home = mkdtempSync(join(tmpdir(), 'orch-bench-mcp-'))
  mkdirSync(join(home, '.git'))
  const {env} = sandboxEnv(sandbox, home)
  const orch = (label, args) => mustRun(`orch ${label}`, process.execPath, [BIN, ...args], {cwd: home, env})
  for (let i = 0; i < JOBS; i++) await orch('run', ['run', `bench-mcp-${i}`, '--where', 'cloud', '--', 'sleep 600'])

  client = new Client({name: 'bench-mcp', version: '1.0.0'})
  await client.connect(new StdioClientTransport({command: process.execPath, args: [BIN, 'mcp'], env, cwd: home, stderr: 'ignore'}))

  const viaProcess = async () => {
    const result = await orch('status --json', ['status', '--json'])
    const jobs = JSON.parse(result.stdout)
    if (jobs.length !== JOBS) throw new Error(`orch status --json listed ${jobs.length} jobs, expected ${JOBS}`)
    return result.ms
  }
  const viaServer = async () => {
    const start = process.hrtime.bigint()
    const result = await client.callTool({name: 'status', arguments: {}})
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (result.isError || result.structuredContent.jobs.length !== JOBS) throw new Error(`the status tool answered ${JSON.stringify(result).slice(0, 500)}`)
    return ms
  }

  console.log(`bench/mcp: orch mcp status tool vs orch status --json on a loopback sshd (127.0.0.1:${sandbox.port}), ${JOBS} jobs running; node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const samples = await sideBySide(N, viaServer, viaProcess)
  const ratio = pairedRatio(samples)
  const ok = ratio <= GOAL
  if (!ok) failed = true
  console.log(`  mcp tool call   median ${fmtMs(median(samples.a))}; ${spread(samples.a)} ms`)
  console.log(`  process         median ${fmtMs(median(samples.b))}; ${spread(samples.b)} ms`)
  console.log('')
  table([['status: MCP tool call vs orch status --json (warm holder)', fmtMs(median(samples.a)), fmtMs(median(samples.b)), `${ratio.toFixed(3)}×`, `≤ ${GOAL}×`, ok ? 'OK' : 'MISSED']], ['measurement', 'mcp (median)', 'process (median)', 'ratio', 'goal', 'result'])
  console.log(`  load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} catch (error) {
  console.error(`bench/mcp: ${error.stack ?? error.message}`)
  failed = true
} finally {
  await cleanup()
}

console.log(`bench/mcp: ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
