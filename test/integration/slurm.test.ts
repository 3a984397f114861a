/**
 * orch's jobs on a real Slurm cluster: a one-node cluster (munged, slurmctld, slurmd; see
 * test/helpers/slurm-cluster.ts) reached through the sandbox sshd as its login node. The sshd gives
 * every session SLURM_CONF, as a cluster's login node finds its slurm.conf, and a PATH whose
 * squeue counts its calls (one per listing, however many jobs).
 */
import {chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {type SlurmCluster, skipWithoutSlurm, startSlurmCluster} from '../helpers/slurm-cluster.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'
import {hostileScripts} from './helpers/hostile-scripts.js'
import {BIN, OrchWorld, exec, lastLine, sleep, tmuxEnv, waitUntil} from './helpers/orch-cli.js'

const NO_CLUSTER = skipWithout('the Slurm integration tests', SANDBOX_TOOLS) || skipWithoutSlurm('the Slurm integration tests')

// Slurm checks time limits every 30 s; a loaded machine (2 cores) makes every step slow.
vi.setConfig({testTimeout: 300_000, hookTimeout: 180_000})

interface SlurmJobJson {
  name: string
  attempts: number
  state: string
  exitCode: number | null
  reason: string | null
  scheduler: string
  schedulerJobId: string | null
  node: string | null
  target: string
}

let cluster: SlurmCluster
let world: OrchWorld
let shims: string
const squeueCalls = () => (existsSync(join(shims, 'squeue.calls')) ? readFileSync(join(shims, 'squeue.calls'), 'utf8').split('\n').filter(Boolean).length : 0)

beforeAll(async () => {
  if (NO_CLUSTER) return
  cluster = await startSlurmCluster()
  shims = mkdtempSync(join(tmpdir(), 'orch-slurm-shims-'))
  const squeue = join(shims, 'squeue')
  writeFileSync(squeue, `#!/bin/sh\necho "$*" >> '${shims}/squeue.calls'\nexec /usr/bin/squeue "$@"\n`)
  chmodSync(squeue, 0o755)
  world = await OrchWorld.start({sessionEnv: {...cluster.env(), PATH: `${shims}:/usr/local/bin:/usr/bin:/bin`}})
})

afterAll(async () => {
  // Slurm's jobs first: they write into the sandbox's log root until they are cancelled.
  try {
    await cluster?.stop()
  } finally {
    await world?.cleanup()
  }
  if (shims) rmSync(shims, {recursive: true, force: true})
})

const submit = (name: string, argv: readonly string[], flags: readonly string[] = []) => world.orch(['run', name, '--scheduler', 'slurm', ...flags, '--', ...argv])

async function submitted(name: string, argv: readonly string[], flags: readonly string[] = []): Promise<void> {
  const result = await submit(name, argv, flags)
  if (result.code !== 0) throw new Error(`orch run ${name} exited ${String(result.code ?? result.signal)}: ${result.stderr}`)
}

async function jobs(args: readonly string[] = []): Promise<SlurmJobJson[]> {
  const result = await world.orch(['list', '--json', ...args])
  if (result.code !== 0) throw new Error(`orch list exited ${String(result.code)}: ${result.stderr}`)
  return JSON.parse(result.stdout) as SlurmJobJson[]
}

async function waitForJob(name: string, check: (job: SlurmJobJson) => boolean, timeoutMs = 120_000): Promise<SlurmJobJson> {
  const deadline = Date.now() + timeoutMs
  let last: SlurmJobJson | undefined
  for (;;) {
    last = (await jobs()).find((job) => job.name === name)
    if (last && check(last)) return last
    if (Date.now() > deadline) throw new Error(`${name}: not as expected within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
    await sleep(500)
  }
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

const slurmJobs = async (): Promise<string[]> => (await cluster.command('squeue', ['-h', '-t', 'all', '-o', '%j %T'])).stdout.split('\n').filter(Boolean)

describe.skipIf(NO_CLUSTER)('orch run --scheduler slurm: one batch job, the same log and exit status', () => {
  it.each([
    ['slurm-exit-0', 'echo hello from slurm', 0],
    ['slurm-exit-3', 'echo failing; exit 3', 3],
    ['slurm-exit-137', 'echo killing myself; kill -9 $$', 137],
  ])('%s', async (name, script, code) => {
    const followed = await submit(name, [script], ['--wait'])
    expect(followed.code, followed.stderr).toBe(code)
    const log = world.readLog(name)
    expect(lastLine(log)).toBe(`[EXIT: ${code}]`)
    expect(followed.stdout).toBe(log)
    const job = await waitForJob(name, (j) => ['DONE', 'FAILED'].includes(j.state))
    expect(job).toMatchObject({state: code === 0 ? 'DONE' : 'FAILED', exitCode: code, reason: null, scheduler: 'slurm', node: cluster.node, target: 'cloud'})
    expect(job.schedulerJobId).toMatch(/^\d+$/)
    // The job was Slurm's: it ran under the name given, as the batch job of that id.
    const shown = await cluster.command('scontrol', ['show', 'job', job.schedulerJobId!])
    expect(shown.stdout).toMatch(new RegExp(`JobName=${name}\\s`))
    expect(await world.orch(['logs', name])).toMatchObject({code: 0, stdout: log})
  })

  it('ORCH_SCHEDULER, ORCH_SLURM_PARTITION, ORCH_SLURM_ACCOUNT, ORCH_SLURM_OPTS and the profile reach sbatch', async () => {
    const env = {ORCH_SCHEDULER: 'slurm', ORCH_SLURM_PARTITION: cluster.partition, ORCH_SLURM_ACCOUNT: 'lab-7', ORCH_SLURM_OPTS: '--comment=from-orch --hold'}
    const result = await world.orch(['run', 'slurm-settings', '--where', 'cloud', '--memory', '100M', '--cpus', '1', '--runtime', '90s', '--json', '--', 'true'], {env})
    expect(result.code, result.stderr).toBe(0)
    const job = await waitForJob('slurm-settings', (j) => j.state === 'QUEUED' && j.reason === 'JobHeldUser')
    const shown = (await cluster.command('scontrol', ['show', 'job', job.schedulerJobId!])).stdout
    expect(shown).toMatch(/Partition=main /)
    expect(shown).toMatch(/Account=lab-7 /)
    expect(shown).toMatch(/Comment=from-orch/)
    expect(shown).toMatch(/MinMemoryNode=100M /)
    expect(shown).toMatch(/TimeLimit=00:03:00 /)
    expect(shown).toMatch(/CPUs\/Task=1 /)
    expect((await world.orch(['stop', 'slurm-settings'])).code).toBe(0)
    // The same Slurm flags on a tmux job are refused: they would do nothing.
    const tmux = await world.orch(['run', 'slurm-flags-on-tmux', '--where', 'cloud', '--cpus', '2', '--', 'true'])
    expect(tmux.code).toBe(2)
    expect(tmux.stderr).toMatch(/--cpus is for Slurm jobs/)
    expect(existsSync(join(world.logRoot, 'slurm-flags-on-tmux'))).toBe(false)
  })

  it('--json of run says it was submitted to Slurm', async () => {
    const result = await submit('slurm-run-json', ['true'], ['--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({name: 'slurm-run-json', state: 'QUEUED', scheduler: 'slurm', target: 'cloud'})
    await waitForJob('slurm-run-json', (j) => j.state === 'DONE')
  })
})

describe.skipIf(NO_CLUSTER)('states from Slurm, and orch stop through scancel', () => {
  it('QUEUED with reason Resources while the node is full, RUNNING once the first ends; stop of a running and of a pending job', async () => {
    const all = String(cluster.cpus)
    await submitted('slurm-fill', ['echo filling; while :; do sleep 0.2; done'], ['--cpus', all])
    await world.waitForLog('slurm-fill', /filling\n/, 120_000)
    expect(await waitForJob('slurm-fill', (j) => j.state === 'RUNNING')).toMatchObject({node: cluster.node, scheduler: 'slurm'})
    await submitted('slurm-waits', ['trap "echo got TERM" TERM; echo second; while :; do sleep 0.2; done'], ['--cpus', '1'])
    const waiting = await waitForJob('slurm-waits', (j) => j.state === 'QUEUED' && j.reason === 'Resources')
    expect(waiting).toMatchObject({exitCode: null, node: null})
    // The text table shows the node and the reason.
    const table = await world.orch(['status'])
    expect(table.stdout).toMatch(/NODE\s+REASON/)
    expect(table.stdout).toMatch(new RegExp(`slurm-fill\\s+RUNNING.*${cluster.node}`))
    expect(table.stdout).toMatch(/slurm-waits\s+QUEUED.*Resources/)

    const stopped = await world.orch(['stop', 'slurm-fill', '--json'])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(JSON.parse(stopped.stdout)).toMatchObject({name: 'slurm-fill', state: 'STOPPED', exitCode: 143, alreadyFinished: false})
    expect(lastLine(world.readLog('slurm-fill'))).toBe('[EXIT: 143]')
    await waitForJob('slurm-waits', (j) => j.state === 'RUNNING' && j.node === cluster.node)
    expect((await jobs()).find((j) => j.name === 'slurm-fill')).toMatchObject({state: 'STOPPED', exitCode: 143})

    // A pending job: cancelled before it ever starts; its log still ends with its status.
    await submitted('slurm-pending', ['echo never'], ['--cpus', all])
    await waitForJob('slurm-pending', (j) => j.state === 'QUEUED')
    const cancelled = await world.orch(['stop', 'slurm-pending'])
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(cancelled.stdout).toMatch(/slurm-pending STOPPED \(exit 143\)/)
    expect(world.readLog('slurm-pending')).toBe('[EXIT: 143]\n')
    expect(await slurmJobs()).toContain('slurm-pending CANCELLED')

    // A command that ignores TERM is killed after the grace.
    await world.waitForLog('slurm-waits', /second\n/, 60_000)
    const killed = await world.orch(['stop', 'slurm-waits', '--grace', '1'])
    expect(killed.code, killed.stderr).toBe(0)
    expect(killed.stdout).toMatch(/slurm-waits STOPPED \(exit 137\)/)
    expect(world.readLog('slurm-waits')).toContain('got TERM\n')
    expect(lastLine(world.readLog('slurm-waits'))).toBe('[EXIT: 137]')
    expect((await jobs()).find((j) => j.name === 'slurm-waits')).toMatchObject({state: 'STOPPED', exitCode: 137})
    expect((await world.orch(['stop', 'slurm-waits'])).stdout).toMatch(/had already finished/)
  })
})

describe.skipIf(NO_CLUSTER)('every command on a Slurm job', () => {
  it('--retries: the wrapper\'s loop inside the one batch job, markers in the log', async () => {
    const followed = await submit('slurm-retries', ['echo attempt; exit 5'], ['--retries', '1', '--retry-delay', '1s', '--wait'])
    expect(followed.code, followed.stderr).toBe(5)
    expect(world.readLog('slurm-retries')).toBe('attempt\n[RETRY 2/2 in 1s]\nattempt\n[EXIT: 5]\n')
    expect(await waitForJob('slurm-retries', (j) => j.state === 'FAILED')).toMatchObject({exitCode: 5, attempts: 2})
  })

  it('prune never deletes a job Slurm still holds, however old its files', async () => {
    await submitted('slurm-held-old', ['true'], ['--sbatch-opt=--hold'])
    await waitForJob('slurm-held-old', (j) => j.state === 'QUEUED')
    const dir = join(world.logRoot, 'slurm-held-old')
    const old = new Date(Date.now() - 90 * 86_400_000)
    for (const entry of ['', ...readdirSync(dir)]) utimesSync(join(dir, entry), old, old)
    const pruned = await world.orch(['prune', '--older-than', '1d', '--where', 'cloud', '--json'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stdout).not.toContain('slurm-held-old')
    expect(existsSync(dir)).toBe(true)
    expect((await world.orch(['stop', 'slurm-held-old'])).code).toBe(0)
  })

  it('attach: a shell on the node inside the job\'s allocation; leaving it leaves the job RUNNING', async () => {
    await submitted('slurm-attach', ['echo ready; while :; do sleep 0.2; done'])
    await world.waitForLog('slurm-attach', /ready\n/, 120_000)
    const job = await waitForJob('slurm-attach', (j) => j.state === 'RUNNING')
    const socket = `orch-test-slurm-${process.pid}`
    const outer = (args: readonly string[]) => exec('tmux', ['-L', socket, ...args], {env: tmuxEnv()})
    try {
      const env = Object.entries(world.env() as Record<string, string>).map(([key, value]) => `${key}=${quote(value)}`).join(' ')
      const opened = await outer(['-f', '/dev/null', 'new-session', '-d', '-s', 'term', '-x', '120', '-y', '40', '-c', world.work, `env ${env} ${quote(process.execPath)} ${quote(BIN)} attach slurm-attach; echo "attach exited $?"; exec sleep 600`])
      expect(opened.code, opened.stderr).toBe(0)
      await sleep(3000)
      await outer(['send-keys', '-t', 'term', '-l', 'echo "inside job $SLURM_JOB_ID at $(pwd)"'])
      await outer(['send-keys', '-t', 'term', 'Enter'])
      const pane = async () => (await outer(['capture-pane', '-p', '-t', 'term'])).stdout
      await waitUntil('the shell in the allocation to answer', async () => (await pane()).includes(`inside job ${job.schedulerJobId} at ${join(world.logRoot, 'slurm-attach')}`), 60_000, 300).catch(async (error: Error) => {
        throw new Error(`${error.message}; the pane shows:\n${await pane()}`)
      })
      await outer(['send-keys', '-t', 'term', '-l', 'exit'])
      await outer(['send-keys', '-t', 'term', 'Enter'])
      await waitUntil('attach to return', async () => /attach exited 0/.test(await pane()), 60_000, 300)
      expect(await waitForJob('slurm-attach', () => true)).toMatchObject({state: 'RUNNING'})
    } finally {
      await outer(['kill-server'])
      await world.orch(['stop', 'slurm-attach'])
    }
  })
})

describe.skipIf(NO_CLUSTER)('bad input is refused before or by Slurm, and nothing is left behind', () => {
  it.each([
    [['--cpus', '0'], /--cpus "0" is not a CPU count of at least 1/],
    [['--mem', '12X'], /--mem "12X" is not a size/],
    [['--partition', 'no-such-partition'], /Slurm refused slurm-bad: invalid partition specified: no-such-partition/],
    [['--sbatch-opt=--mem=12X'], /Slurm refused slurm-bad: Invalid --mem specification/],
    [['--sbatch-opt=--output=/tmp/x'], /--sbatch-opt "--output=\/tmp\/x" is set by orch/],
  ])('%j', async (flags, message) => {
    const result = await submit('slurm-bad', ['echo never'], flags)
    expect(result.code).toBe(2)
    const lines = result.stderr.trim().split('\n')
    expect(lines[0]).toMatch(message)
    expect(existsSync(join(world.logRoot, 'slurm-bad'))).toBe(false)
    expect(existsSync(join(world.logRoot, '.orch-slurm', 'slurm-bad'))).toBe(false)
    expect((await slurmJobs()).filter((line) => line.startsWith('slurm-bad '))).toEqual([])
  })
})

describe.skipIf(NO_CLUSTER)('a submission orch could not record', () => {
  it('is cancelled in Slurm and refused: nothing runs that orch cannot follow', async () => {
    const registry = join(world.logRoot, '.orch-slurm')
    const aside = `${registry}.aside`
    if (existsSync(registry)) renameSync(registry, aside)
    writeFileSync(registry, 'not a directory')
    try {
      const result = await submit('slurm-unrecorded', ['sleep 600'])
      expect(result.code).toBe(8)
      expect(result.stderr.split('\n')[0]).toMatch(/cannot write \(File exists\) on .* at .*\/\.orch-slurm: slurm-unrecorded was not started/)
      expect(existsSync(join(world.logRoot, 'slurm-unrecorded'))).toBe(false)
      expect((await slurmJobs()).filter((line) => line.startsWith('slurm-unrecorded '))).toEqual(['slurm-unrecorded CANCELLED'])
    } finally {
      rmSync(registry, {force: true})
      if (existsSync(aside)) renameSync(aside, registry)
    }
  })
})

describe.skipIf(NO_CLUSTER).concurrent('the hostile-command corpus reaches the node byte for byte; a time limit ends a job', () => {
  it('--runtime 20s asks for --time=1 (half again, whole minutes); past it Slurm ends the job: FAILED, reason TIMEOUT', async () => {
    await submitted('slurm-overrun', ['echo started; sleep 600'], ['--runtime', '20s'])
    const job = await waitForJob('slurm-overrun', (j) => j.state === 'RUNNING')
    expect((await cluster.command('scontrol', ['show', 'job', job.schedulerJobId!])).stdout).toMatch(/TimeLimit=00:01:00/)
    const ended = await waitForJob('slurm-overrun', (j) => j.state === 'FAILED', 200_000)
    expect(ended).toMatchObject({reason: 'TIMEOUT', exitCode: 143})
    expect(lastLine(world.readLog('slurm-overrun'))).toBe('[EXIT: 143]')
    // Kept in the job directory: once Slurm forgets the job (no accounting), the reason stays.
    expect(readFileSync(join(world.logRoot, 'slurm-overrun', 'slurm-state'), 'utf8')).toBe('TIMEOUT\n')
  })

  it.each(hostileScripts(userInfo().homedir))('$name', async ({name, script, output}) => {
    const job = `slurm-hostile-${name}`
    const followed = await submit(job, [script], ['--wait'])
    expect(followed.code, followed.stderr).toBe(0)
    expect(followed.stdout).toBe(`${output}[EXIT: 0]\n`)
    expect(world.readLog(job)).toBe(`${output}[EXIT: 0]\n`)
    expect(readFileSync(join(world.logRoot, job, 'cmd.sh'))).toEqual(Buffer.from(script))
  })
})

describe.skipIf(NO_CLUSTER)('orch list of 200 Slurm jobs', () => {
  it('lists them all with Slurm\'s states in one round trip: one squeue, whatever the number of jobs', async () => {
    const names = Array.from({length: 200}, (_, i) => `slurm-many-${String(i).padStart(3, '0')}`)
    // Held: they wait in Slurm's queue (reason JobHeldUser) without loading the node.
    for (let i = 0; i < names.length; i += 10) await Promise.all(names.slice(i, i + 10).map((name) => submitted(name, ['true'], ['--sbatch-opt=--hold'])))
    const before = squeueCalls()
    const listed = await jobs()
    expect(squeueCalls() - before).toBe(1)
    const many = listed.filter((job) => job.name.startsWith('slurm-many-'))
    expect(many).toHaveLength(200)
    for (const job of many) expect(job).toMatchObject({state: 'QUEUED', reason: 'JobHeldUser', scheduler: 'slurm'})
    // Twenty released and run end DONE (their exit files), the rest still QUEUED: one squeue per listing.
    const released = many.slice(0, 20)
    await cluster.command('scontrol', ['release', released.map((job) => job.schedulerJobId).join(',')])
    const deadline = Date.now() + 240_000
    for (;;) {
      const now = (await jobs()).filter((job) => job.name.startsWith('slurm-many-'))
      const done = now.filter((job) => job.state === 'DONE').map((job) => job.name)
      if (done.length === 20) {
        expect(done.sort()).toEqual(released.map((job) => job.name).sort())
        expect(now.filter((job) => job.state === 'QUEUED')).toHaveLength(180)
        break
      }
      if (Date.now() > deadline) throw new Error(`not 20 DONE: ${JSON.stringify(now.filter((job) => job.state !== 'DONE' && job.state !== 'QUEUED').slice(0, 3))}`)
      await sleep(2000)
    }
    const once = squeueCalls()
    await jobs()
    expect(squeueCalls() - once).toBe(1)
    await cluster.command('scancel', many.slice(20).map((job) => job.schedulerJobId!))
  }, 900_000)
})
