#!/usr/bin/env node
// Speed of orch on a Slurm cluster against plain OpenSSH to its login node, side by side in one run.
// The cluster is the tests' real one-node cluster (test/helpers/slurm-cluster.ts: munged,
// slurmctld, slurmd in a temp dir), its login node the tests' loopback sshd, whose sessions get
// SLURM_CONF as a login node's profile would set it.
//
// 1. `orch run NAME --scheduler slurm --sbatch-opt=--hold -- true` (a new name each time) vs
//    `ssh … sbatch --hold -J xI -o /dev/null --wrap true`. Goal: orch ≤ 1.5× ssh. Both are held
//    (they wait in the queue), so the jobs never load the machine the two are timed on.
// 2. `orch list --json` with 200 Slurm jobs on the cluster vs `ssh … squeue`. Goal: orch ≤ 2× ssh.
// orch runs as configured by default (ORCH_CONTROL_PERSIST 10m: a held connection); both are
// measured once more, for information, with a connection of their own per command.
//
// Warm-ups first, then N runs (BENCH_N, default 15) alternating which of the pair goes first.
// Needs root and Slurm (apt-get install -y slurm-wlm); without them it says why and exits 0.
// Needs a build (`npm run bench` builds first). Exit 0 when every goal is met, 1 otherwise.
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, ROOT, WARMUPS, fmtMs, importSandbox, median, mustRun, pairedRatio, positive as positiveOf, sandboxEnv, sideBySide, sleep, spread, table} from './lib/harness.mjs'

const positive = (name, fallback) => positiveOf(name, fallback, 'bench/slurm')
const N = positive('BENCH_N', 15)
const JOBS = 200
const GOALS = {run: 1.5, list: 2}

const clusterModule = join(ROOT, 'dist-test', 'slurm-cluster.js')
if (!existsSync(clusterModule)) {
  console.error(`bench/slurm: ${clusterModule} is missing (run npm run build)`)
  process.exit(1)
}
const {SLURM_TOOLS, startSlurmCluster} = await import(clusterModule)
const {findTool} = await import(join(ROOT, 'dist-test', 'requirements.js'))
const missing = SLURM_TOOLS.filter((tool) => findTool(tool) === undefined)
if (process.getuid?.() !== 0 || missing.length > 0) {
  console.log(`bench/slurm: skipped: ${process.getuid?.() !== 0 ? 'a Slurm cluster needs root' : `${missing.join(', ')} not installed (apt-get install -y slurm-wlm)`}`)
  process.exit(0)
}

let cluster
let sandbox
let home
let failed = false
const cleanup = async () => {
  await sandbox?.cleanup().catch((error) => console.error(`bench/slurm: cleanup: ${error.message}`))
  await cluster?.stop().catch((error) => console.error(`bench/slurm: cleanup: ${error.message}`))
  sandbox = cluster = undefined
  if (home) rmSync(home, {recursive: true, force: true})
  home = undefined
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`bench/slurm: ${signal}; cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

try {
  cluster = await startSlurmCluster()
  const {startSandboxSshd} = await importSandbox()
  sandbox = await startSandboxSshd({sessionEnv: cluster.env()})
  home = mkdtempSync(join(tmpdir(), 'orch-bench-slurm-home-'))
  mkdirSync(join(home, '.git'))
  const {baseEnv, env} = sandboxEnv(sandbox, home)
  const sshArgs = sandbox.sshArgs()
  const orch = (label, args, extra = {}) => mustRun(`orch ${label}`, process.execPath, [BIN, ...args], {env: {...env, ...extra}, cwd: home})
  const ssh = (label, command) => mustRun(`ssh ${label}`, 'ssh', [...sshArgs, command], {env: baseEnv})

  console.log(`bench/slurm: orch vs OpenSSH to a Slurm login node (sshd 127.0.0.1:${sandbox.port}, node ${cluster.node} with ${cluster.cpus} CPUs); node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  console.log(`  ${WARMUPS} warm-ups each, then N=${N} alternating runs`)
  const rows = []

  // 1. orch run --scheduler slurm vs ssh sbatch --wrap ----------------------------------------
  const run = await sideBySide(
    N,
    async (i) => {
      const result = await orch('run', ['run', `bench-run-${i}`, '--scheduler', 'slurm', '--sbatch-opt=--hold', '--', 'true'])
      if (!/bench-run-\S+ QUEUED/.test(`${result.stdout}${result.stderr}`)) throw new Error(`orch run did not report the job submitted: ${result.stdout}${result.stderr}`)
      return result.ms
    },
    async (i) => {
      const result = await ssh('sbatch', `sbatch --hold -J x${i} -o /dev/null --wrap true`)
      if (!/Submitted batch job \d+/.test(result.stdout)) throw new Error(`sbatch said ${result.stdout}${result.stderr}`)
      return result.ms
    },
  )
  const runRatio = median(run.a) / median(run.b)
  rows.push(['orch run --scheduler slurm -- true', fmtMs(median(run.a)), fmtMs(median(run.b)), `${runRatio.toFixed(2)}×`, `≤ ${GOALS.run}×`, runRatio <= GOALS.run ? 'OK' : 'MISSED'])
  if (runRatio > GOALS.run) failed = true
  console.log(`  run:  orch ${spread(run.a)} ms; ssh sbatch ${spread(run.b)} ms; median of paired ratios ${pairedRatio(run).toFixed(2)}×`)

  // 2. orch list --json of 200 Slurm jobs vs ssh squeue ----------------------------------------
  const have = JSON.parse((await orch('list', ['list', '--json'])).stdout).length
  const names = Array.from({length: JOBS - have}, (_, i) => `bench-list-${i}`)
  for (let i = 0; i < names.length; i += 8) {
    await Promise.all(names.slice(i, i + 8).map((name) => orch('run', ['run', name, '--scheduler', 'slurm', '--sbatch-opt=--hold', '--', 'true'])))
  }
  const listed = JSON.parse((await orch('list', ['list', '--json'])).stdout)
  const slurmJobs = listed.filter((job) => job.scheduler === 'slurm' && job.state === 'QUEUED' && job.reason === 'JobHeldUser')
  if (slurmJobs.length !== JOBS) throw new Error(`orch list --json shows ${slurmJobs.length} held Slurm jobs, expected ${JOBS}`)
  console.log(`  ${JOBS} Slurm jobs on the cluster, all QUEUED (JobHeldUser); squeue holds ${(await ssh('squeue', 'squeue -h | wc -l')).stdout.trim()} jobs in all`)
  const list = await sideBySide(
    N,
    async () => (await orch('list', ['list', '--json'])).ms,
    async () => (await ssh('squeue', 'squeue')).ms,
  )
  const listRatio = median(list.a) / median(list.b)
  rows.push([`orch list --json (${JOBS} Slurm jobs)`, fmtMs(median(list.a)), fmtMs(median(list.b)), `${listRatio.toFixed(2)}×`, `≤ ${GOALS.list}×`, listRatio <= GOALS.list ? 'OK' : 'MISSED'])
  if (listRatio > GOALS.list) failed = true
  console.log(`  list: orch ${spread(list.a)} ms; ssh squeue ${spread(list.b)} ms; median of paired ratios ${pairedRatio(list).toFixed(2)}×`)

  // For information: each command on a connection of its own (ORCH_CONTROL_PERSIST=0), as ssh is.
  const infoN = Math.max(3, Math.ceil(N / 3))
  const cold = {ORCH_CONTROL_PERSIST: '0'}
  const coldRun = await sideBySide(
    infoN,
    async (i) => (await orch('run', ['run', `bench-cold-${i}`, '--scheduler', 'slurm', '--sbatch-opt=--hold', '--', 'true'], cold)).ms,
    async (i) => (await ssh('sbatch', `sbatch --hold -J y${i} -o /dev/null --wrap true`)).ms,
  )
  rows.push([`orch run, no connection reuse (info, N=${infoN})`, fmtMs(median(coldRun.a)), fmtMs(median(coldRun.b)), `${(median(coldRun.a) / median(coldRun.b)).toFixed(2)}×`, '-', 'info'])
  const coldList = await sideBySide(
    infoN,
    async () => (await orch('list', ['list', '--json'], cold)).ms,
    async () => (await ssh('squeue', 'squeue')).ms,
  )
  rows.push([`orch list --json, no connection reuse (info, N=${infoN})`, fmtMs(median(coldList.a)), fmtMs(median(coldList.b)), `${(median(coldList.a) / median(coldList.b)).toFixed(2)}×`, '-', 'info'])

  console.log('')
  table(rows)
  console.log(`  load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} catch (error) {
  console.error(`bench/slurm: ${error.stack ?? error.message}`)
  failed = true
} finally {
  await cleanup()
}
await sleep(0)
console.log(`bench/slurm: ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
