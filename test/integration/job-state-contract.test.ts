/**
 * One job, three readers: `orch list`, `orch prune --dry-run` and the host's autostop check must
 * agree on every job, whatever happened to it. Each situation is made with the real wrapper over a
 * real sshd and tmux (never hand-written fixture files, except the hand-made job the protocol
 * allows), in a log root of its own so that the autostop check's one verdict speaks for that job.
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {ageTree} from './helpers/host-kit.js'
import {type JobJson, OrchWorld, isAlive, sleep, tmuxEnv, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the job-state contract integration tests', SANDBOX_TOOLS)

vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

let world: OrchWorld
const holders: ChildProcess[] = []

beforeAll(async () => {
  world = await OrchWorld.start()
})

afterAll(async () => {
  for (const holder of holders) release(holder)
  for (const scenario of SCENARIOS) {
    const pid = wrapperPid(scenario.name)
    if (pid && isAlive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {}
    }
  }
  await world?.tmux(['kill-server'])
  await world?.cleanup()
})

function release(holder: ChildProcess): void {
  try {
    process.kill(-holder.pid!, 'SIGKILL')
  } catch {}
}

const rootOf = (name: string) => join(world.tmp, 'roots', name)
const dirOf = (name: string) => join(rootOf(name), name)
const orchIn = (name: string, args: readonly string[], env: Record<string, string> = {}) => world.orch(args, {env: {ORCH_LOG_ROOT: rootOf(name), ...env}})

function wrapperPid(name: string): number | undefined {
  try {
    return Number(readFileSync(join(dirOf(name), 'pid'), 'utf8').trim()) || undefined
  } catch {
    return undefined
  }
}

async function start(name: string, argv: readonly string[], env: Record<string, string> = {}): Promise<void> {
  const started = await orchIn(name, ['run', name, '--where', 'cloud', '--', ...argv], env)
  if (started.code !== 0) throw new Error(`orch run ${name}: ${started.stderr}`)
}

async function listed(name: string): Promise<JobJson | undefined> {
  const result = await orchIn(name, ['list', '--json'])
  expect(result.code, result.stderr).toBe(0)
  return (JSON.parse(result.stdout) as JobJson[]).find((job) => job.name === name)
}

async function settle(name: string, states: readonly string[]): Promise<void> {
  await waitUntil(`${name} to be ${states.join('|')}`, async () => states.includes((await listed(name))?.state ?? ''), 60_000, 300)
}

/** Hold the root's only parallel slot, so the next job there waits QUEUED. */
async function holdTheSlot(name: string): Promise<void> {
  mkdirSync(join(rootOf(name), '.orch-queue'), {recursive: true})
  // Its own process group: flock's child (sleep) holds the lock too, and must go with it.
  const holder = spawn('flock', [join(rootOf(name), '.orch-queue', 'slot-1'), 'sleep', '600'], {stdio: 'ignore', detached: true})
  holders.push(holder)
  await sleep(200)
}

async function queued(name: string): Promise<void> {
  await holdTheSlot(name)
  await start(name, ['echo never'], {ORCH_MAX_PARALLEL: '1'})
  await waitUntil(`${name} to queue`, () => existsSync(join(dirOf(name), 'queued')))
  await settle(name, ['QUEUED'])
}

/** Over its cost limit: created on the host, waiting there for approval (orch run exits 10). */
async function held(name: string): Promise<void> {
  const result = await orchIn(name, ['run', name, '--where', 'cloud', '--runtime', '5h', '--max-cost', '1', '--', 'echo never'], {ORCH_HOURLY_PRICE: '1'})
  expect(result.code, result.stderr).toBe(10)
  await waitUntil(`${name} to wait for approval`, () => existsSync(join(dirOf(name), 'queued')))
  await settle(name, ['QUEUED'])
}

async function looping(name: string): Promise<void> {
  await start(name, ['echo "PID=$$"; while :; do sleep 0.2; done'])
  await waitUntil(`${name} to print`, () => existsSync(join(dirOf(name), 'run.log')) && /PID=\d+/.test(readFileSync(join(dirOf(name), 'run.log'), 'utf8')))
}

function killWrapper(name: string, signal: NodeJS.Signals, group: boolean): Promise<void> {
  const pid = wrapperPid(name)
  if (!pid) throw new Error(`${name} has no wrapper pid`)
  process.kill(group ? -pid : pid, signal)
  return waitUntil(`${name}'s wrapper to die`, () => !isAlive(pid))
}

interface Scenario {
  name: string
  make: (name: string) => Promise<void>
  state: string
  reason?: string
}

const SCENARIOS: Scenario[] = [
  {name: 'c-done', state: 'DONE', make: (name) => start(name, ['true']).then(() => settle(name, ['DONE']))},
  {name: 'c-failed', state: 'FAILED', make: (name) => start(name, ['exit 3']).then(() => settle(name, ['FAILED']))},
  {
    name: 'c-stopped',
    state: 'STOPPED',
    make: async (name) => {
      await looping(name)
      const stopped = await orchIn(name, ['stop', name])
      expect(stopped.code, stopped.stderr).toBe(0)
    },
  },
  {name: 'c-running', state: 'RUNNING', make: looping},
  {name: 'c-queued', state: 'QUEUED', make: queued},
  {
    name: 'c-queued-wrapper-killed',
    state: 'FAILED',
    reason: 'vanished',
    make: async (name) => {
      await queued(name)
      await killWrapper(name, 'SIGKILL', false)
    },
  },
  {name: 'c-held', state: 'QUEUED', make: held},
  {
    name: 'c-held-wrapper-killed',
    state: 'FAILED',
    reason: 'vanished',
    make: async (name) => {
      await held(name)
      await killWrapper(name, 'SIGKILL', false)
    },
  },
  {
    name: 'c-running-wrapper-killed',
    state: 'FAILED',
    reason: 'vanished',
    make: async (name) => {
      await looping(name)
      await killWrapper(name, 'SIGKILL', false)
    },
  },
  {
    name: 'c-session-killed',
    state: 'FAILED',
    make: async (name) => {
      await looping(name)
      const killed = await world.tmux(['kill-session', '-t', `=${name}`])
      expect(killed.code, killed.stderr).toBe(0)
      await settle(name, ['FAILED'])
    },
  },
  {
    // Every process of the job at once, as a reboot or an OOM kill of the user's slice does.
    name: 'c-all-killed',
    state: 'FAILED',
    reason: 'vanished',
    make: async (name) => {
      await looping(name)
      await killWrapper(name, 'SIGKILL', true)
    },
  },
  {
    name: 'c-hand-made-done',
    state: 'DONE',
    make: async (name) => {
      mkdirSync(dirOf(name), {recursive: true})
      writeFileSync(join(dirOf(name), 'run.log'), 'made by hand\n[EXIT: 0]\n')
    },
  },
  {
    name: 'c-hand-made-running',
    state: 'RUNNING',
    make: async (name) => {
      mkdirSync(dirOf(name), {recursive: true})
      writeFileSync(join(dirOf(name), 'run.log'), 'started by hand\n')
      const session = spawnSync('tmux', ['-L', world.tmuxSocket, 'new-session', '-d', '-s', name, 'sleep 600'], {env: tmuxEnv(), encoding: 'utf8'})
      expect(session.status, session.stderr).toBe(0)
    },
  },
  {
    name: 'c-hand-made-vanished',
    state: 'FAILED',
    reason: 'vanished',
    make: async (name) => {
      mkdirSync(dirOf(name), {recursive: true})
      writeFileSync(join(dirOf(name), 'run.log'), 'started by hand, then the host rebooted\n')
    },
  },
]

const UNFINISHED = new Set(['RUNNING', 'QUEUED', 'STARTING'])

/** The autostop check's verdict on the root's jobs alone (tmux sessions and ssh logins aside). */
function autostopSeesAJob(name: string): {busy: boolean; output: string} {
  const script = join(process.cwd(), 'scripts', 'cloud', 'autostop-check.sh')
  const result = spawnSync(
    'sh',
    [script, '--idle-minutes', '30', '--root', rootOf(name), '--state-file', join(world.tmp, `${name}.autostop`), '--tmux-socket', world.tmuxSocket, '--shutdown-cmd', 'false', '--dry-run'],
    {encoding: 'utf8', env: {...tmuxEnv(), HOME: world.home}, timeout: 30_000},
  )
  expect(result.status, result.stderr).toBe(0)
  return {busy: /^busy: job /m.test(result.stdout), output: result.stdout.trim()}
}

describe.skipIf(NO_SANDBOX)('list, prune --dry-run and the autostop check agree', () => {
  beforeAll(async () => {
    for (const scenario of SCENARIOS) mkdirSync(rootOf(scenario.name), {recursive: true})
    // Independent situations: made side by side to keep the suite short.
    await Promise.all(SCENARIOS.map((scenario) => scenario.make(scenario.name)))
  }, 180_000)

  it.each(SCENARIOS)('$name: $state', async (scenario) => {
    const {name} = scenario
    const job = await listed(name)
    expect(job, `${name} is missing from orch list`).toBeDefined()
    expect(job!.state).toBe(scenario.state)
    if (scenario.reason) expect(job!.reason).toBe(scenario.reason)
    const unfinished = UNFINISHED.has(job!.state)

    const status = await orchIn(name, ['status', '--json'])
    expect(status.code, status.stderr).toBe(0)
    expect((JSON.parse(status.stdout) as JobJson[]).some((entry) => entry.name === name)).toBe(unfinished)

    const autostop = autostopSeesAJob(name)
    expect(autostop.busy, autostop.output).toBe(unfinished)

    // Old enough for retention: only a finished job may go.
    ageTree(dirOf(name))
    const pruned = await orchIn(name, ['prune', '--dry-run', '--older-than', '1d', '--where', 'cloud', '--json'])
    expect(pruned.code, pruned.stderr).toBe(0)
    const wouldDelete = (JSON.parse(pruned.stdout) as Array<{deleted: Array<{name: string}>}>).flatMap((outcome) => outcome.deleted.map((entry) => entry.name))
    expect(wouldDelete.includes(name), pruned.stdout).toBe(!unfinished)
    expect(existsSync(dirOf(name))).toBe(true)

    // And the three still agree after ageing (an old job is not a finished one).
    expect((await listed(name))?.state).toBe(scenario.state)
  })
})

describe.skipIf(NO_SANDBOX)('one liveness rule', () => {
  it('a dead job at the head of the queue whose pid was reused (a reboot) does not hold the queue', async () => {
    const head = 'c-reused-head'
    const next = 'c-reused-next'
    const root = rootOf(head)
    mkdirSync(root, {recursive: true})
    await queued(head)
    await killWrapper(head, 'SIGKILL', false)
    // After a reboot the old pid belongs to some other process.
    const stranger = spawn('sleep', ['600'], {stdio: 'ignore', detached: true})
    holders.push(stranger)
    writeFileSync(join(dirOf(head), 'pid'), `${stranger.pid}\n`)
    // Written before the reboot: a pid file from the very second the process table is read would
    // count as a wrapper just started (job-lib.sh pid_after_ps), and warm commands list that fast.
    const beforeReboot = new Date(Date.now() - 60_000)
    utimesSync(join(dirOf(head), 'pid'), beforeReboot, beforeReboot)
    for (const holder of holders.splice(0, holders.length - 1)) release(holder)

    // The next job, in the same root, queues behind the dead head ticket and must still run.
    const started = await world.orch(['run', next, '--where', 'cloud', '--', 'echo ran'], {env: {ORCH_LOG_ROOT: root, ORCH_MAX_PARALLEL: '1'}})
    expect(started.code, started.stderr).toBe(0)
    await waitUntil(`${next} to run past the dead head`, () => existsSync(join(root, next, 'exit')), 30_000)
    expect(readFileSync(join(root, next, 'run.log'), 'utf8')).toMatch(/^ran\n\[EXIT: 0\]\n$/)
    const jobs = JSON.parse((await world.orch(['list', '--json'], {env: {ORCH_LOG_ROOT: root}})).stdout) as JobJson[]
    expect(jobs.find((job) => job.name === head)).toMatchObject({state: 'FAILED', reason: 'vanished'})
  })
})
