/**
 * Cost, the approval gate and the ETA against the real loopback sshd and tmux: a job over its cost
 * limit is created on the host but not started, waits there QUEUED for approval (listed by status
 * and list after the client has exited, holding no place in the parallel queue), and runs once
 * approved; one refused with orch stop ends STOPPED and never runs. The price is fixed
 * (ORCH_HOURLY_PRICE): the AWS Price List is tested in test/unit/cloud/pricing.test.ts. The built
 * CLI runs as a child process (`npm run build` first).
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EXIT_CODES} from '../../src/errors/errors.js'
import {type JobJson, OrchWorld, type Result, sleep, waitUntil} from './helpers/orch-cli.js'
import {WebhookRecorder} from './helpers/host-kit.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the cost and approval integration tests', SANDBOX_TOOLS)

interface Job extends JobJson {
  queuePosition: number | null
  waitingFor: 'slot' | 'approval' | null
  cost: {amount: number; currency: string; basis: 'final' | 'so-far'; hourlyPrice: number} | null
  runtimeEstimateSeconds: number | null
  eta: string | null
  reason: string | null
}

interface RunJson {
  name: string
  state: string
  waitingFor: 'approval' | null
  estimatedCost: {amount: number; currency: string; basis: string; hourlyPrice: number; runtimeEstimateSeconds: number} | null
  estimatedCostReason: string | null
  approval: {why: string; approve: string; refuse: string} | null
}

let world: OrchWorld
let webhook: WebhookRecorder

beforeAll(async () => {
  if (NO_SANDBOX) return
  ;[world, webhook] = await Promise.all([OrchWorld.start(), WebhookRecorder.start()])
})

afterAll(async () => {
  await webhook?.close()
  await world?.cleanup()
})

/** A price of 0.50 USD an hour: 5 hours cost 2.50. */
const PRICED = {ORCH_HOURLY_PRICE: '0.5', ORCH_MAX_PARALLEL: '1'}

function run(name: string, flags: readonly string[], script: string, env: Record<string, string> = {}): Promise<Result> {
  return world.orch(['run', name, '--where', 'cloud', ...flags, '--', script], {env: {...PRICED, ...env}})
}

async function listed(name: string, command: 'list' | 'status' = 'list'): Promise<Job | undefined> {
  const result = await world.orch([command, '--json'], {env: PRICED})
  expect(result.code, result.stderr).toBe(0)
  return (JSON.parse(result.stdout) as Job[]).find((job) => job.name === name)
}

const jobDir = (name: string) => join(world.logRoot, name)
const tickets = () => (existsSync(join(world.logRoot, '.orch-queue')) ? readdirSync(join(world.logRoot, '.orch-queue')).filter((entry) => entry.startsWith('ticket-')) : [])

describe.skipIf(NO_SANDBOX)('the approval gate, end to end', {timeout: 120_000}, () => {
  it('over --max-cost: held on the host (exit 10, one document), listed after the client exited, notified; it holds no queue place; approved, it runs', async () => {
    const held = await run('gate-big', ['--runtime', '5h', '--max-cost', '1', '--json', '--notify'], 'echo ran-after-approval', {ORCH_SLACK_WEBHOOK_URL: webhook.url('/hook/SECRET-approval')})
    expect(held.code, held.stderr).toBe(EXIT_CODES.awaitingApproval)
    const doc = JSON.parse(held.stdout) as RunJson
    expect(doc).toMatchObject({
      name: 'gate-big',
      state: 'QUEUED',
      waitingFor: 'approval',
      estimatedCost: {amount: 2.5, currency: 'USD', basis: 'ORCH_HOURLY_PRICE', hourlyPrice: 0.5, runtimeEstimateSeconds: 18_000},
      estimatedCostReason: null,
      approval: {approve: 'orch approve gate-big', refuse: 'orch stop gate-big'},
    })
    expect(doc.approval!.why).toBe('its estimated cost 2.50 USD is over the limit 1.00 USD')

    // The client is gone; the host keeps the job, waiting, and says so to every client.
    expect(await listed('gate-big', 'status')).toMatchObject({state: 'QUEUED', waitingFor: 'approval', queuePosition: null, startedAt: null, cost: {amount: 0, basis: 'so-far', hourlyPrice: 0.5}, runtimeEstimateSeconds: 18_000, eta: null, reason: null})
    const table = await world.orch(['status'], {env: PRICED})
    expect(table.stdout).toMatch(/\ngate-big\s+QUEUED \(approval\)\s/)
    expect(await listed('gate-big')).toMatchObject({state: 'QUEUED', waitingFor: 'approval'})

    // The request went out the way --notify sends notifications, saying what, how much and how to approve.
    await waitUntil('the approval request to reach the webhook', () => webhook.requests.some((request) => request.url === '/hook/SECRET-approval'), 30_000)
    const text = (JSON.parse(webhook.requests.find((request) => request.url === '/hook/SECRET-approval')!.body) as {text: string}).text
    expect(text).toMatch(/^\*gate-big is waiting for approval on \S+: estimated cost 2\.50 USD \(limit 1\.00 USD\)\*\napprove: orch approve gate-big\nrefuse: {2}orch stop gate-big$/)
    expect(held.stdout + held.stderr).not.toContain('SECRET-approval')

    // Waiting, it holds no ticket: a job submitted after it with one slot runs at once.
    expect(tickets().filter((ticket) => ticket.endsWith('-gate-big'))).toEqual([])
    const small = await run('gate-small', ['--runtime', '1m', '--max-cost', '1'], 'echo small')
    expect(small.code, small.stderr).toBe(0)
    expect(await world.waitForExit('gate-small')).toBe('small\n[EXIT: 0]\n')

    await sleep(1500)
    expect(readFileSync(world.runLogPath('gate-big'), 'utf8')).toBe('')
    expect(existsSync(join(jobDir('gate-big'), 'started'))).toBe(false)

    const approved = await world.orch(['approve', 'gate-big', '--json'], {env: PRICED})
    expect(approved.code, approved.stderr).toBe(0)
    expect(JSON.parse(approved.stdout)).toMatchObject({name: 'gate-big', approved: true, alreadyApproved: false})
    expect(await world.waitForExit('gate-big')).toBe('ran-after-approval\n[EXIT: 0]\n')
    const done = await listed('gate-big')
    expect(done).toMatchObject({state: 'DONE', exitCode: 0, waitingFor: null, runtimeEstimateSeconds: 18_000, cost: {currency: 'USD', basis: 'final', hourlyPrice: 0.5}})
    const seconds = (Date.parse(done!.endedAt!) - Date.parse(done!.startedAt!)) / 1000
    expect(done!.cost!.amount).toBe(Math.round(((0.5 * seconds) / 3600) * 10_000) / 10_000)
    expect(done!.eta).toBe(new Date(Date.parse(done!.startedAt!) + 18_000_000).toISOString())

    // A second yes changes nothing, and says so.
    const again = await world.orch(['approve', 'gate-big', '--json'], {env: PRICED})
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({approved: false, alreadyApproved: true})
    // A job that never waited for approval is told so.
    const never = await world.orch(['approve', 'gate-small'], {env: PRICED})
    expect(never.code).toBe(EXIT_CODES.conflict)
    expect(never.stderr).toMatch(/^orch: job gate-small is not waiting for approval \(it is DONE\) — /)
    expect((await world.orch(['approve', 'gate-nosuch'], {env: PRICED})).code).toBe(EXIT_CODES.notFound)
  })

  it('three approvals at once: one takes the queue ticket, the others are told it was approved; it then waits for a slot like any job', async () => {
    const held = await run('gate-race', ['--runtime', '5h', '--max-cost', '1'], 'echo raced')
    expect(held.code, held.stderr).toBe(EXIT_CODES.awaitingApproval)
    // The only slot is taken, so the approved job stays in the queue where its ticket can be seen.
    mkdirSync(join(world.logRoot, '.orch-queue'), {recursive: true})
    const holder = spawn('flock', [join(world.logRoot, '.orch-queue', 'slot-1'), 'sleep', '600'], {stdio: 'ignore', detached: true})
    try {
      await sleep(300)
      const answers = await Promise.all([1, 2, 3].map(() => world.orch(['approve', 'gate-race', '--json'], {env: PRICED})))
      for (const answer of answers) expect(answer.code, answer.stderr).toBe(0)
      const docs = answers.map((answer) => JSON.parse(answer.stdout) as {approved: boolean; alreadyApproved: boolean})
      expect(docs.filter((doc) => doc.approved)).toHaveLength(1)
      expect(docs.filter((doc) => doc.alreadyApproved)).toHaveLength(2)
      expect(tickets().filter((ticket) => ticket.endsWith('-gate-race'))).toHaveLength(1)
      await waitUntil('gate-race to wait for a slot', async () => (await listed('gate-race', 'status'))?.waitingFor === 'slot', 20_000, 300)
      expect(await listed('gate-race', 'status')).toMatchObject({state: 'QUEUED', waitingFor: 'slot', queuePosition: 1})
    } finally {
      process.kill(-holder.pid!, 'SIGKILL')
    }
    expect(await world.waitForExit('gate-race')).toBe('raced\n[EXIT: 0]\n')
    expect(tickets().filter((ticket) => ticket.endsWith('-gate-race'))).toEqual([])
  })

  it('held, then refused with orch stop: STOPPED for good, it never runs, and approving it afterwards is refused', async () => {
    const marker = join(world.tmp, 'ran-anyway')
    const held = await run('gate-refused', ['--runtime', '10h', '--max-cost', '2'], `touch '${marker}'; echo ran`)
    expect(held.code, held.stderr).toBe(EXIT_CODES.awaitingApproval)
    expect(held.stdout).toMatch(/^gate-refused QUEUED on \S+, waiting for approval: its estimated cost 5\.00 USD is over the limit 2\.00 USD\n {2}cost: {4}~5\.00 USD \(0\.50 USD\/h × 10h, ORCH_HOURLY_PRICE\)\n {2}approve: orch approve gate-refused\n {2}refuse: {2}orch stop gate-refused\n$/)

    const stop = await world.orch(['stop', 'gate-refused'], {env: PRICED})
    expect(stop.code, stop.stderr).toBe(0)
    expect(await listed('gate-refused')).toMatchObject({state: 'STOPPED', exitCode: 143, startedAt: null, waitingFor: null})
    expect(world.readLog('gate-refused')).toBe('[EXIT: 143]\n')

    const late = await world.orch(['approve', 'gate-refused'], {env: PRICED})
    expect(late.code).toBe(EXIT_CODES.conflict)
    expect(late.stderr).toMatch(/^orch: job gate-refused was refused or ended before it was approved \(it is STOPPED\); it will not run — /)
    await sleep(1500)
    expect(world.readLog('gate-refused')).toBe('[EXIT: 143]\n')
    expect(existsSync(join(jobDir('gate-refused'), 'started'))).toBe(false)
    expect(existsSync(marker)).toBe(false)
  })

  it('--approve is a yes in advance; ORCH_APPROVAL=unknown holds a job whose cost is unknown; a local job is never held', async () => {
    // The command's text looks like the members the price is read from: the recorded ones count.
    const yes = await run('gate-yes', ['--runtime', '5h', '--max-cost', '1', '--approve', '--json'], `echo '"hourlyPrice":99,"currency":"XXX","runtimeEstimateSeconds":1'`)
    expect(yes.code, yes.stderr).toBe(0)
    expect(JSON.parse(yes.stdout)).toMatchObject({state: 'RUNNING', waitingFor: null, estimatedCost: {amount: 2.5}, approval: null})
    expect(await world.waitForExit('gate-yes')).toBe('"hourlyPrice":99,"currency":"XXX","runtimeEstimateSeconds":1\n[EXIT: 0]\n')
    expect(await listed('gate-yes')).toMatchObject({cost: {currency: 'USD', hourlyPrice: 0.5, basis: 'final'}, runtimeEstimateSeconds: 18_000})

    const unknown = await run('gate-unknown', ['--json'], 'echo unknown', {ORCH_APPROVAL: 'unknown'})
    expect(unknown.code, unknown.stderr).toBe(EXIT_CODES.awaitingApproval)
    expect(JSON.parse(unknown.stdout)).toMatchObject({
      state: 'QUEUED',
      waitingFor: 'approval',
      estimatedCost: null,
      estimatedCostReason: 'no runtime estimate: give --runtime (e.g. --runtime 2h)',
    })
    // Written by the job's wrapper, which orch run does not wait for.
    await waitUntil('the approval request', () => existsSync(join(jobDir('gate-unknown'), 'approval-request')) && readFileSync(join(jobDir('gate-unknown'), 'approval-request'), 'utf8').endsWith('\n'), 20_000)
    expect(readFileSync(join(jobDir('gate-unknown'), 'approval-request'), 'utf8')).toMatch(/^gate-unknown is waiting for approval on \S+: cost unknown\n/)
    expect((await world.orch(['stop', 'gate-unknown'], {env: PRICED})).code).toBe(0)

    const local = await world.orch(['run', 'gate-local', '--where', 'local', '--runtime', '5h', '--max-cost', '0', '--json', '--', 'echo here'], {env: PRICED})
    expect(local.code, local.stderr).toBe(0)
    expect(JSON.parse(local.stdout)).toMatchObject({state: 'DONE', estimatedCost: {amount: 0, basis: 'local'}})
  })

  it('bad input: --max-cost abc is one line on stderr, exit 2, and nothing is created on the host', async () => {
    const before = world.logRootEntries().sort()
    const bad = await run('gate-bad', ['--max-cost', 'abc'], 'echo never')
    expect(bad.code).toBe(EXIT_CODES.usage)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toBe('orch: --max-cost "abc" is not an amount — give a decimal number in ORCH_CURRENCY, e.g. --max-cost 5 or --max-cost 2.50\n')
    const badEnv = await run('gate-bad', [], 'echo never', {ORCH_MAX_COST: '-3'})
    expect(badEnv.code).toBe(EXIT_CODES.config)
    expect(badEnv.stderr.trim().split('\n')).toHaveLength(1)
    expect(world.logRootEntries().sort()).toEqual(before)
  })
})

describe.skipIf(NO_SANDBOX)('cost and ETA of a running job', {timeout: 120_000}, () => {
  it('status shows elapsed, the estimate and the ETA, then "over estimate by"; JSON has runtimeEstimateSeconds, eta and the cost so far', async () => {
    const started = await run('eta-run', ['--runtime', '2s', '--json'], 'sleep 60', {ORCH_HOURLY_PRICE: '36'})
    expect(started.code, started.stderr).toBe(0)
    expect(JSON.parse(started.stdout)).toMatchObject({estimatedCost: {amount: 0.02, currency: 'USD', hourlyPrice: 36, runtimeEstimateSeconds: 2}})
    const running = (await world.waitForState('eta-run', ['RUNNING'])) as Job
    expect(running.runtimeEstimateSeconds).toBe(2)
    expect(running.eta).toBe(new Date(Date.parse(running.startedAt!) + 2000).toISOString())
    await sleep(3500)
    const status = await world.orch(['status'], {env: PRICED})
    expect(status.stdout).toMatch(/^NAME\s+STATE\s+ELAPSED\s+ESTIMATE\s+ETA\s+WHERE\s+COMMAND\n/)
    expect(status.stdout).toMatch(/\neta-run\s+RUNNING\s+\d+ seconds\s+2s\s+over estimate by \d+ seconds\s/)
    const soFar = (await listed('eta-run', 'status'))!
    expect(soFar.cost).toMatchObject({currency: 'USD', basis: 'so-far', hourlyPrice: 36})
    expect(soFar.cost!.amount).toBeGreaterThan(0.03)
    expect((await world.orch(['stop', 'eta-run'], {env: PRICED})).code).toBe(0)
    const list = await world.orch(['list'], {env: PRICED})
    expect(list.stdout).toMatch(/^NAME\s+STATE\s+EXIT\s+STARTED\s+DURATION\s+COST\s+WHERE\s+COMMAND\n/)
    expect(list.stdout).toMatch(/\neta-run\s+STOPPED\s+143\s+.+\s+\d+ seconds\s+0\.\d\d USD\s/)
  })
})
