/**
 * A real one-node Slurm cluster for integration tests: munged, slurmctld and slurmd started as
 * daemons (no systemd) from a fresh temp dir, on free ports, with their own munge key and socket,
 * so nothing of the machine's own Slurm or munge set-up (/etc/slurm, /etc/munge, /run/munge) is
 * read or changed. Client commands reach it with SLURM_CONF=<dir>/slurm.conf (see `env`).
 *
 * No accounting (no slurmdbd, no sacct history), as on many small clusters: a finished job stays
 * in squeue for MinJobAge seconds, then only its job directory knows how it ended.
 *
 * Only one cluster runs on the machine at a time (a lock file, waited for): its node has the
 * machine's name and all of its CPUs. Needs root (slurmd runs jobs as their users).
 */
import {execFile} from 'node:child_process'
import {closeSync, constants, openSync, readFileSync, rmSync, writeSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {findTool, skipWithout} from './requirements.js'

/** The tools the cluster needs (Debian: slurm-wlm brings them all, munge included). */
export const SLURM_TOOLS = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'sinfo'] as const

/**
 * True when the Slurm tests must be skipped: not root (printed), or a tool missing (printed;
 * a failure under CI, see requirements.ts).
 */
export function skipWithoutSlurm(what: string): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    console.warn(`skipping ${what}: a Slurm cluster needs root (slurmd runs jobs as their users)`)
    return true
  }
  return skipWithout(what, SLURM_TOOLS)
}

export interface SlurmCluster {
  readonly dir: string
  /** `<dir>/slurm.conf`: what SLURM_CONF names. */
  readonly confPath: string
  /** The node (this machine's short host name) and its CPUs. */
  readonly node: string
  readonly cpus: number
  /** The only partition (the default). */
  readonly partition: string
  /** What Slurm's client commands need to reach this cluster. */
  env(): Record<string, string>
  /** Run a Slurm client command against this cluster. */
  command(tool: string, args: readonly string[]): Promise<{code: number; stdout: string; stderr: string}>
  /** Cancel every job, stop the daemons, remove the temp dir. Idempotent. */
  stop(): Promise<void>
}

export interface SlurmClusterOptions {
  /** Seconds a finished job stays in squeue (Slurm's default: 300). */
  minJobAge?: number
  /** How long to wait for the lock of another cluster on this machine. Default 10 min. */
  lockTimeoutMs?: number
}

const LOCK = path.join(os.tmpdir(), 'orch-slurm-cluster.lock')

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(file, args as string[], {env, timeout: timeoutMs}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      resolve({code: error ? (typeof raw === 'number' ? raw : 1) : 0, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * The machine-wide lock: a file holding the owner's pid and its cluster's dir. Taken over when that
 * pid is gone, after stopping what its cluster left running (a test process killed mid-run).
 */
async function takeLock(dir: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const fd = openSync(LOCK, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644)
      writeSync(fd, `${process.pid}\n${dir}\n`)
      closeSync(fd)
      return () => rmSync(LOCK, {force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    let owner = 0
    let ownerDir = ''
    try {
      const [pid = '', left = ''] = readFileSync(LOCK, 'utf8').split('\n')
      owner = Number(pid.trim())
      ownerDir = left.trim()
    } catch {}
    if (!(owner > 0 && alive(owner))) {
      if (ownerDir.startsWith(path.join(os.tmpdir(), 'orch-slurm-'))) await stopDaemons(ownerDir)
      rmSync(LOCK, {force: true})
      continue
    }
    if (Date.now() > deadline) throw new Error(`slurm-cluster: another test cluster (pid ${owner}) holds ${LOCK}`)
    await sleep(500)
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim())
    return pid > 1 ? pid : undefined
  } catch {
    return undefined
  }
}

async function killAndWait(pid: number | undefined): Promise<void> {
  if (pid === undefined || !alive(pid)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {}
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100)
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
}

/** The daemons of the cluster in `dir`, by their pid files; then the dir. */
async function stopDaemons(dir: string): Promise<void> {
  await killAndWait(readPid(path.join(dir, 'slurmd.pid')))
  await killAndWait(readPid(path.join(dir, 'slurmctld.pid')))
  await killAndWait(readPid(path.join(dir, 'munge', 'munged.pid')))
  await rm(dir, {recursive: true, force: true, maxRetries: 5})
}

/** Start the cluster; resolves once its node is idle. */
export async function startSlurmCluster(options: SlurmClusterOptions = {}): Promise<SlurmCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'orch-slurm-'))
  const release = await takeLock(dir, options.lockTimeoutMs ?? 600_000)
  const confPath = path.join(dir, 'slurm.conf')
  const env = {...process.env, SLURM_CONF: confPath}
  const node = os.hostname().split('.')[0]!
  const cpus = os.cpus().length
  const memoryMiB = Math.floor((os.totalmem() / 1024 / 1024) * 0.8)
  const munge = path.join(dir, 'munge')
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    // Jobs first: a slurmd killed under a running job would leave its slurmstepd behind.
    const jobs = await run('squeue', ['-h', '-o', '%i'], env, 10_000)
    const ids = jobs.stdout.split('\n').filter((id) => /^\d+$/.test(id.trim()))
    if (ids.length > 0) {
      await run('scancel', ['--full', '-s', 'KILL', ...ids], env, 10_000)
      await run('scancel', ids, env, 10_000)
      for (let i = 0; i < 50; i++) {
        const left = await run('squeue', ['-h', '-t', 'PENDING,RUNNING,COMPLETING,CONFIGURING', '-o', '%i'], env, 10_000)
        if (left.code !== 0 || left.stdout.trim() === '') break
        await sleep(200)
      }
    }
    await stopDaemons(dir)
    release()
  }
  try {
    await chmod(dir, 0o755)
    await mkdir(munge, {mode: 0o700})
    for (const sub of ['ctld', 'spool']) await mkdir(path.join(dir, sub))
    const key = await run(findTool('mungekey') ?? 'mungekey', ['-c', '-k', path.join(munge, 'munge.key')], env)
    if (key.code !== 0) throw new Error(`mungekey failed: ${key.stderr}`)
    const socket = path.join(munge, 'munge.sock')
    // --force: the temp dir's parent (/tmp) is world-writable, which munged otherwise refuses.
    const munged = await run(findTool('munged') ?? 'munged', ['--force', `--socket=${socket}`, `--key-file=${path.join(munge, 'munge.key')}`, `--log-file=${path.join(munge, 'munged.log')}`, `--pid-file=${path.join(munge, 'munged.pid')}`, `--seed-file=${path.join(munge, 'munged.seed')}`], env)
    if (munged.code !== 0) throw new Error(`munged failed: ${munged.stderr}`)
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()]
    const conf = [
      'ClusterName=orchtest',
      `SlurmctldHost=${node}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${dir}/ctld`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'ReturnToService=2',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${dir}/jobcomp.txt`,
      // Time limits are checked every 30 s; a TERM'd job gets KillWait seconds before the KILL.
      'KillWait=5',
      ...(options.minJobAge === undefined ? [] : [`MinJobAge=${options.minJobAge}`]),
      `NodeName=${node} CPUs=${cpus} RealMemory=${memoryMiB} State=UNKNOWN`,
      `PartitionName=main Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
    ]
    await writeFile(confPath, `${conf.join('\n')}\n`)
    for (const daemon of ['slurmctld', 'slurmd']) {
      const started = await run(findTool(daemon) ?? daemon, [], env)
      if (started.code !== 0) throw new Error(`${daemon} failed (${started.code}): ${started.stderr}`)
    }
    const deadline = Date.now() + 60_000
    for (;;) {
      const info = await run('sinfo', ['-h', '-o', '%T'], env, 10_000)
      if (info.stdout.trim() === 'idle') break
      if (Date.now() > deadline) {
        const logs = await readFile(path.join(dir, 'slurmctld.log'), 'utf8').catch(() => '')
        throw new Error(`slurm-cluster: node not idle after 60 s (sinfo: ${info.stdout.trim() || info.stderr.trim()}); slurmctld.log:\n${logs.slice(-2000)}`)
      }
      await sleep(300)
    }
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }
  return {
    dir,
    confPath,
    node,
    cpus,
    partition: 'main',
    env: () => ({SLURM_CONF: confPath}),
    command: (tool, args) => run(tool, args, env),
    stop,
  }
}
