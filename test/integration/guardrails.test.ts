/**
 * Guardrails and scheduling, against the real loopback sshd and tmux of the job tests:
 * L2 retries with backoff, parallel slots with the QUEUED state, L4 notifications to an HTTP server
 * of the test's own, secrets kept out of every log, ps line and JSON, --stamp names, L3 rollback,
 * the run.log cap, retention (orch prune) with times set in the past, and orch cron against a fake
 * crontab. The built CLI runs as a child process (`npm run build` first).
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseSize} from '../../src/config/units.js'
import {type JobJson, OrchWorld, type Result, isAlive, lastLine, sleep, waitUntil} from './helpers/orch-cli.js'
import {PsRecorder, WebhookRecorder, ageTree, filesUnder, writeFakeCrontab} from './helpers/host-kit.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the guardrails integration tests', SANDBOX_TOOLS)

interface Job extends JobJson {
  attempts: number
  queuePosition: number | null
}

let world: OrchWorld
/** A second host for the slot tests: its own log root, so its own queue. */
let slotWorld: OrchWorld
let scratch: string
const servers: WebhookRecorder[] = []
const holders: ChildProcess[] = []

beforeAll(async () => {
  ;[world, slotWorld] = await Promise.all([OrchWorld.start(), OrchWorld.start()])
  scratch = join(world.tmp, 'scratch')
  mkdirSync(scratch, {recursive: true})
})

/** SIGKILL the process group of every wrapper still running (after a failure), so cleanup can remove the dirs. */
function killJobs(on: OrchWorld | undefined): void {
  if (!on || !existsSync(on.logRoot)) return
  for (const name of readdirSync(on.logRoot)) {
    try {
      if (existsSync(join(on.logRoot, name, 'exit'))) continue
      process.kill(-Number(readFileSync(join(on.logRoot, name, 'pid'), 'utf8')), 'SIGKILL')
    } catch {}
  }
}

afterAll(async () => {
  for (const holder of holders) holder.kill('SIGKILL')
  killJobs(world)
  killJobs(slotWorld)
  await Promise.all(servers.map((server) => server.close()))
  await Promise.all([world?.cleanup(), slotWorld?.cleanup()])
})

/** Plenty of slots in the shared world, so concurrent tests never queue behind each other. */
const ROOMY = {ORCH_MAX_PARALLEL: '50'}

async function run(name: string, argv: readonly string[], flags: readonly string[] = [], env: Record<string, string | undefined> = {}, on = world): Promise<Result> {
  const result = await on.orch(['run', name, '--where', 'cloud', ...flags, '--', ...argv], {env: {...ROOMY, ...env}})
  expect(result.code, `orch run ${name}: ${result.stderr}`).toBe(0)
  return result
}

const jobDir = (name: string, on = world) => join(on.logRoot, name)

/** Wait (reading the job directory) until the wrapper has written the exit status. */
async function exited(name: string, on = world, timeoutMs = 30_000): Promise<void> {
  await waitUntil(`${name} to end`, () => existsSync(join(jobDir(name, on), 'exit')), timeoutMs, 50)
}

/** Wait until the wrapper process itself is gone and, when it notifies, the notification is over ("notified"). */
async function wrapperGone(name: string, on = world, timeoutMs = 40_000): Promise<void> {
  // The wrapper writes its pid once tmux has started it, which may be after `orch run` returned.
  await waitUntil(`${name}'s wrapper to start`, () => existsSync(join(jobDir(name, on), 'pid')), timeoutMs, 50)
  const pid = Number(readFileSync(join(jobDir(name, on), 'pid'), 'utf8'))
  await waitUntil(`${name}'s wrapper to exit`, () => !isAlive(pid), timeoutMs, 50)
  const notifies = /^notify=(slack|stdout)$/m.test(readFileSync(join(jobDir(name, on), 'options'), 'utf8'))
  if (notifies) await waitUntil(`${name}'s notification to be over`, () => existsSync(join(jobDir(name, on), 'notified')), timeoutMs, 50)
}

async function listed(name: string, on = world): Promise<Job> {
  const job = (await on.job(name)) as Job | undefined
  expect(job, `${name} in orch list`).toBeDefined()
  return job!
}

function counterScript(file: string, tail: string): string {
  return `n=$(cat '${file}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${file}'; echo "attempt $n"; ${tail}`
}

describe.skipIf(NO_SANDBOX).concurrent('L2 retries', {timeout: 120_000}, () => {
  it('a failing command runs 1 + 2 times with 1s then 2s between; [EXIT: N] is the last attempt\'s status', async () => {
    const counter = join(scratch, 'retry-fail.count')
    await run('retry-fail', [counterScript(counter, 'exit $((n + 2))')], ['--retries', '2', '--retry-delay', '1s'])
    await exited('retry-fail')
    expect(world.readLog('retry-fail')).toBe('attempt 1\n[RETRY 2/3 in 1s]\nattempt 2\n[RETRY 3/3 in 2s]\nattempt 3\n[EXIT: 5]\n')
    const job = await listed('retry-fail')
    expect(job).toMatchObject({state: 'FAILED', exitCode: 5, attempts: 3})
    // The waits really happened on the host: 1 s + 2 s between the first start and the end.
    expect(Date.parse(job.endedAt!) - Date.parse(job.startedAt!)).toBeGreaterThanOrEqual(3000)
  })

  it('success on the 2nd attempt: DONE with attempts 2', async () => {
    const counter = join(scratch, 'retry-ok.count')
    await run('retry-ok', [counterScript(counter, '[ "$n" -ge 2 ]')], ['--retries', '2', '--retry-delay', '1s'])
    await exited('retry-ok')
    expect(world.readLog('retry-ok')).toBe('attempt 1\n[RETRY 2/3 in 1s]\nattempt 2\n[EXIT: 0]\n')
    expect(await listed('retry-ok')).toMatchObject({state: 'DONE', exitCode: 0, attempts: 2})
  })

  it('orch stop during the delay: STOPPED, and no further attempt', async () => {
    const name = 'retry-stop'
    const counter = join(scratch, 'retry-stop.count')
    await run(name, [counterScript(counter, 'exit 1')], ['--retries', '3', '--retry-delay', '20s'])
    await world.waitForLog(name, /\[RETRY 2\/4 in 20s\]\n/)
    const stopped = await world.orch(['stop', name])
    expect(stopped.code, stopped.stderr).toBe(0)
    await exited(name)
    await sleep(1500)
    expect(readFileSync(counter, 'utf8').trim()).toBe('1')
    const log = world.readLog(name)
    expect(log).toMatch(/^attempt 1\n\[RETRY 2\/4 in 20s\]\n\[EXIT: \d+\]\n$/)
    const job = await listed(name)
    expect(job).toMatchObject({state: 'STOPPED', attempts: 1})
    expect(lastLine(log)).toBe(`[EXIT: ${job.exitCode}]`)
    expect((await world.tmux(['has-session', '-t', `=${name}`])).code).not.toBe(0)
  })
})

describe.skipIf(NO_SANDBOX)('parallel slots and QUEUED (own host, limit 2)', {timeout: 120_000}, () => {
  it('10 jobs: never more than 2 at once, started in submission order, all DONE; a queued job can be stopped and never starts', async () => {
    const queue = join(slotWorld.logRoot, '.orch-queue')
    mkdirSync(queue, {recursive: true})
    // Two "running jobs" of the test's own hold both slots while the 10 are submitted, so all of
    // them are waiting at once and the queue order is plain to see.
    const holder = spawn('sh', ['-c', 'exec 8> slot-1 9> slot-2; flock 8; flock 9; echo ready; exec sleep 600'], {cwd: queue, stdio: ['ignore', 'pipe', 'inherit']})
    holders.push(holder)
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()))

    // Submitted all at once: the host numbers the tickets in the order the submissions arrive,
    // and that order is what the queue must keep.
    const script = 'date +%s.%N; sleep 1; date +%s.%N'
    const submitted = Array.from({length: 10}, (_, i) => `slot-${String(i + 1).padStart(2, '0')}`)
    await Promise.all(submitted.map((name) => run(name, [script], ['--max-parallel', '2'], {}, slotWorld)))
    const tickets = readdirSync(queue).filter((entry) => entry.startsWith('ticket-')).sort()
    const names = tickets.map((ticket) => ticket.replace(/^ticket-\d+-/, ''))
    expect([...names].sort()).toEqual(submitted)
    // One more, certainly last.
    await run('slot-stopme', [script], ['--max-parallel', '2'], {}, slotWorld)
    expect(readdirSync(queue).filter((entry) => entry.startsWith('ticket-')).sort().at(-1)).toMatch(/^ticket-\d+-slot-stopme$/)

    const status = await slotWorld.orch(['status', '--json'])
    expect(status.code, status.stderr).toBe(0)
    const waiting = (JSON.parse(status.stdout) as Job[]).sort((a, b) => (a.queuePosition ?? 0) - (b.queuePosition ?? 0))
    expect(waiting.map((job) => [job.name, job.state, job.queuePosition])).toEqual([...names, 'slot-stopme'].map((name, i) => [name, 'QUEUED', i + 1]))
    const table = await slotWorld.orch(['status'])
    expect(table.stdout).toMatch(new RegExp(`\\n${names[0]}\\s+QUEUED #1\\s`))
    expect(table.stdout).toMatch(/\nslot-stopme\s+QUEUED #11\s/)

    const stop = await slotWorld.orch(['stop', 'slot-stopme'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(await listed('slot-stopme', slotWorld)).toMatchObject({state: 'STOPPED', exitCode: 143, attempts: 0, queuePosition: null})
    expect(slotWorld.readLog('slot-stopme')).toBe('[EXIT: 143]\n')
    expect(existsSync(join(jobDir('slot-stopme', slotWorld), 'started'))).toBe(false)

    holder.kill('SIGKILL')
    for (const name of names) await exited(name, slotWorld, 40_000)

    const spans = names.map((name) => {
      const lines = slotWorld.readLog(name).split('\n')
      expect(lines[2], name).toBe('[EXIT: 0]')
      return {name, start: Number(lines[0]), end: Number(lines[1])}
    })
    // Started in submission order.
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start, spans[i]!.name).toBeGreaterThan(spans[i - 1]!.start)
    // At most 2 at once: sweep the start/end events (an end before a start at the same instant).
    const events = spans.flatMap((span) => [
      {at: span.start, delta: 1},
      {at: span.end, delta: -1},
    ])
    events.sort((a, b) => a.at - b.at || a.delta - b.delta)
    let running = 0
    let most = 0
    for (const event of events) {
      running += event.delta
      most = Math.max(most, running)
    }
    expect(most).toBe(2)
    const jobs = await slotWorld.list()
    for (const name of names) expect(jobs.find((job) => job.name === name), name).toMatchObject({state: 'DONE', exitCode: 0})
    expect(readFileSync(slotWorld.runLogPath('slot-stopme'), 'utf8')).toBe('[EXIT: 143]\n')
    expect(readdirSync(queue).filter((entry) => entry.startsWith('ticket-'))).toEqual([])
  })
})

describe.skipIf(NO_SANDBOX).concurrent('L4 notifications', {timeout: 120_000}, () => {
  it('--notify with ORCH_SLACK_WEBHOOK_URL: one POST with name, state, exit status and the last 20 lines; the URL is never shown', async () => {
    const server = await WebhookRecorder.start()
    servers.push(server)
    const url = server.url('/hook/SECRET-TOKEN-9f2c41')
    const name = 'notify-ok'
    const ps = new PsRecorder()
    const started = await world.orch(['run', name, '--where', 'cloud', '--notify', '--json', '--', 'for i in $(seq 1 25); do echo "line $i"; done; sleep 1'], {env: {...ROOMY, ORCH_SLACK_WEBHOOK_URL: url}})
    expect(started.code, started.stderr).toBe(0)
    // While the job runs, the URL is on disk only in a file its owner alone may read.
    const urlFile = join(jobDir(name), 'notify.url')
    expect(readFileSync(urlFile, 'utf8')).toBe(url)
    expect(statSync(urlFile).mode & 0o777).toBe(0o600)
    await wrapperGone(name)
    const snapshots = await ps.stop()

    expect(server.requests).toHaveLength(1)
    const [request] = server.requests
    expect(request).toMatchObject({method: 'POST', url: '/hook/SECRET-TOKEN-9f2c41'})
    expect(request!.headers['content-type']).toBe('application/json')
    const text = (JSON.parse(request!.body) as {text: string}).text
    expect(text).toMatch(/^\*notify-ok DONE \(exit 0\) after \d+s on \S+\*\n/)
    for (let i = 6; i <= 25; i++) expect(text).toContain(`line ${i}\n`)
    expect(text).not.toMatch(/line 5\n/)
    expect(text).not.toContain('[EXIT: 0]')

    const listing = await world.orch(['list', '--json'])
    expect((JSON.parse(listing.stdout) as Job[]).find((job) => job.name === name)).toMatchObject({state: 'DONE', exitCode: 0})
    const places: Array<[string, string]> = [
      ['orch run --json', started.stdout + started.stderr],
      ['orch list --json', listing.stdout + listing.stderr],
      ['run.log', world.readLog(name)],
      ['ps while the webhook was called', request!.ps],
      ...snapshots.map((snapshot, i): [string, string] => [`ps snapshot ${i}`, snapshot]),
      ...filesUnder(jobDir(name)).map((file): [string, string] => [file.path, file.text]),
    ]
    expect(snapshots.length).toBeGreaterThan(5)
    for (const [where, text] of places) {
      expect(text, where).not.toContain('SECRET-TOKEN')
      expect(text, where).not.toContain(`127.0.0.1:${server.port}`)
    }
    expect(existsSync(urlFile)).toBe(false)
  })

  it('a webhook answering 500: the job stays DONE and the failure is recorded in its directory', async () => {
    const server = await WebhookRecorder.start(500)
    servers.push(server)
    const name = 'notify-500'
    await run(name, ['echo hi'], ['--notify'], {ORCH_SLACK_WEBHOOK_URL: server.url('/hook/SECRET-TOKEN-500')})
    await wrapperGone(name)
    expect(server.requests.length).toBeGreaterThanOrEqual(1)
    expect(readFileSync(join(jobDir(name), 'notify.error'), 'utf8')).toMatch(/HTTP 500/)
    expect(world.readLog(name)).toBe('hi\n[EXIT: 0]\n')
    expect(await listed(name)).toMatchObject({state: 'DONE', exitCode: 0})
    for (const file of filesUnder(jobDir(name))) expect(file.text, file.path).not.toContain('SECRET-TOKEN')
  })

  it('a stopped job is announced as STOPPED', async () => {
    const server = await WebhookRecorder.start()
    servers.push(server)
    const name = 'notify-stop'
    await run(name, ['echo waiting; sleep 30'], ['--notify'], {ORCH_SLACK_WEBHOOK_URL: server.url('/hook/SECRET-TOKEN-stop')})
    await world.waitForLog(name, /waiting\n/)
    expect((await world.orch(['stop', name])).code).toBe(0)
    await wrapperGone(name)
    expect(server.requests).toHaveLength(1)
    expect((JSON.parse(server.requests[0]!.body) as {text: string}).text).toMatch(/^\*notify-stop STOPPED \(exit 143\) after \d+s on \S+\*\n```waiting\n/)
  })

  it('ORCH_NOTIFY=stdout: a local job prints the notice after its output; a cloud job leaves it in its directory', async () => {
    const local = await world.orch(['run', 'notify-local', '--where', 'local', '--', 'echo local-out'], {env: {ORCH_NOTIFY: 'stdout'}})
    expect(local.code, local.stderr).toBe(0)
    expect(local.stdout).toMatch(/^local-out\n\[EXIT: 0\]\nnotify-local DONE \(exit 0\) after \d+s on \S+\nlocal-out\n$/)

    await run('notify-cloud-stdout', ['echo cloud-out; exit 4'], [], {ORCH_NOTIFY: 'stdout'})
    await wrapperGone('notify-cloud-stdout')
    expect(readFileSync(join(jobDir('notify-cloud-stdout'), 'notification'), 'utf8')).toMatch(/^notify-cloud-stdout FAILED \(exit 4\) after \d+s on \S+\ncloud-out\n$/)
    expect(existsSync(join(jobDir('notify-cloud-stdout'), 'notify.url'))).toBe(false)
    expect(world.readLog('notify-cloud-stdout')).toBe('cloud-out\n[EXIT: 4]\n')
  })

  it('a slow webhook with --max-log-size: the log is not rotated under the [EXIT] line while the notice is sent', async () => {
    const server = await WebhookRecorder.start(200, 3500)
    servers.push(server)
    const name = 'notify-slow-cap'
    const cap = parseSize('100K')!
    // Output just under the cap: only the [EXIT: 0] line takes the file past it, after the command.
    await run(name, [`head -c ${cap - 5} /dev/zero | tr '\\0' x; echo`], ['--notify', '--max-log-size', '100K'], {ORCH_SLACK_WEBHOOK_URL: server.url('/hook/SECRET-TOKEN-slow')})
    await wrapperGone(name)
    expect(server.requests).toHaveLength(1)
    const log = world.readLog(name)
    expect(lastLine(log)).toBe('[EXIT: 0]')
    expect(log.length).toBe(cap - 4 + '[EXIT: 0]\n'.length)
    expect(existsSync(`${world.runLogPath(name)}.1`)).toBe(false)
  })
})

describe.skipIf(NO_SANDBOX).concurrent('secrets and names', {timeout: 120_000}, () => {
  it('--env and --env-file values reach the command but never run.log, the job directory, ps, or any --json', async () => {
    const name = 'secret-job'
    const secret = `s3cr3t-Arg-"q" 'x' $HOME \`id\` ${Date.now()}`
    const fileSecret = `file-secret-${Date.now()}-7f3a9c`
    const envFile = join(scratch, 'job.env')
    writeFileSync(envFile, `# secrets\nFILE_SECRET=${fileSecret}\n`)
    const sha = (text: string) => createHash('sha256').update(text).digest('hex')

    const gate = join(scratch, 'secret.gate')
    const ps = new PsRecorder()
    const started = await world.orch(
      ['run', name, '--where', 'cloud', '--json', '--env', `SECRET=${secret}`, '--env-file', envFile, '--', `printf %s "$SECRET" | sha256sum; printf %s "$FILE_SECRET" | sha256sum; while [ ! -f '${gate}' ]; do sleep 0.1; done`],
      {env: ROOMY},
    )
    expect(started.code, started.stderr).toBe(0)
    // The --env value was on orch run's own command line (typed by the user): ps is read from here on.
    const during = new PsRecorder()
    const envSh = join(jobDir(name), 'env.sh')
    expect(existsSync(envSh)).toBe(true)
    expect(statSync(envSh).mode & 0o777).toBe(0o600)
    await world.waitForLog(name, /-\n.*-\n/)
    await waitUntil('ps snapshots while the job runs', () => during.snapshots.length >= 10, 30_000)
    writeFileSync(gate, '')
    await exited(name)
    const duringSnapshots = await during.stop()
    const allSnapshots = await ps.stop()
    expect(duringSnapshots.length).toBeGreaterThan(5)

    // The command could read both.
    expect(world.readLog(name)).toBe(`${sha(secret)}  -\n${sha(fileSecret)}  -\n[EXIT: 0]\n`)
    expect(existsSync(envSh)).toBe(false)
    const listing = await world.orch(['list', '--json'])
    expect((JSON.parse(listing.stdout) as Job[]).find((job) => job.name === name)).toMatchObject({state: 'DONE', exitCode: 0})
    const places: Array<[string, string, string[]]> = [
      ['orch run --json', started.stdout + started.stderr, [secret, fileSecret]],
      ['orch list --json', listing.stdout + listing.stderr, [secret, fileSecret]],
      ...filesUnder(jobDir(name)).map((file): [string, string, string[]] => [file.path, file.text, [secret, fileSecret]]),
      ...duringSnapshots.map((snapshot, i): [string, string, string[]] => [`ps while running ${i}`, snapshot, [secret, fileSecret]]),
      ...allSnapshots.map((snapshot, i): [string, string, string[]] => [`ps from submission on ${i}`, snapshot, [fileSecret]]),
    ]
    for (const [where, text, secrets] of places) for (const value of secrets) expect(text, where).not.toContain(value)
    expect(JSON.parse(readFileSync(join(jobDir(name), 'meta.json'), 'utf8')).envNames).toEqual(['FILE_SECRET', 'SECRET'])
  })

  it('--stamp appends -YYYYMMDD-HHMM in local time', async () => {
    const stamp = () => spawnSync('date', ['+%Y%m%d-%H%M'], {encoding: 'utf8', env: {PATH: process.env.PATH}}).stdout.trim()
    const before = stamp()
    const result = await world.orch(['run', 'stamped', '--stamp', '--where', 'cloud', '--json', '--', 'true'], {env: ROOMY})
    const after = stamp()
    expect(result.code, result.stderr).toBe(0)
    const {name} = JSON.parse(result.stdout) as {name: string}
    expect(name).toMatch(/^stamped-\d{8}-\d{4}$/)
    expect([`stamped-${before}`, `stamped-${after}`]).toContain(name)
    await exited(name)
    expect(world.readLog(name)).toBe('[EXIT: 0]\n')
  })
})

describe.skipIf(NO_SANDBOX).concurrent('L3 rollback and the log cap', {timeout: 120_000}, () => {
  it('rollback: refused while running (5), dry run shows what it drops, refused without --yes off a terminal (2), applied with --yes', async () => {
    const repo = join(scratch, 'repo')
    mkdirSync(repo)
    const git = (...args: string[]) => {
      const result = spawnSync('git', ['-c', 'user.name=Tester', '-c', 'user.email=t@example.invalid', '-c', 'init.defaultBranch=main', '-C', repo, ...args], {encoding: 'utf8', env: {PATH: process.env.PATH, HOME: world.home}})
      expect(result.status, result.stderr).toBe(0)
      return result.stdout.trim()
    }
    git('init', '-q')
    writeFileSync(join(repo, 'a.txt'), 'one\n')
    git('add', 'a.txt')
    git('commit', '-q', '-m', 'first')
    const start = git('rev-parse', 'HEAD')

    const name = 'rollback-job'
    const gate = join(scratch, 'rollback.gate')
    await run(name, [`cat a.txt; echo ready; while [ ! -f '${gate}' ]; do sleep 0.1; done`], ['--cwd', repo])
    await world.waitForLog(name, /ready\n/)
    expect(readFileSync(join(jobDir(name), 'git-commit'), 'utf8').trim()).toBe(start)
    const busy = await world.orch(['rollback', name, '--yes'])
    expect(busy.code).toBe(5)
    expect(busy.stderr).toMatch(/has not finished/)
    writeFileSync(gate, '')
    await exited(name)
    expect(world.readLog(name)).toBe('one\nready\n[EXIT: 0]\n')

    writeFileSync(join(repo, 'b.txt'), 'later\n')
    git('add', 'b.txt')
    git('commit', '-q', '-m', 'later work')
    const later = git('rev-parse', 'HEAD')
    writeFileSync(join(repo, 'a.txt'), 'edited\n')

    const dry = await world.orch(['rollback', name, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(`reset ${repo} on `)
    expect(dry.stdout).toContain(start.slice(0, 12))
    expect(dry.stdout).toMatch(/drops 1 later commit\(s\):\n\s+[0-9a-f]+ later work\n/)
    expect(dry.stdout).toMatch(/loses 1 uncommitted change\(s\):\n\s+M a\.txt/)
    const dryJson = await world.orch(['rollback', name, '--dry-run', '--json'])
    expect(JSON.parse(dryJson.stdout)).toMatchObject({name, workTree: repo, commit: start, commitsDiscarded: [expect.stringMatching(/later work$/)], uncommitted: [' M a.txt'], applied: false})
    expect(git('rev-parse', 'HEAD')).toBe(later)

    const unconfirmed = await world.orch(['rollback', name])
    expect(unconfirmed.code).toBe(2)
    expect(unconfirmed.stderr).toMatch(/--yes/)
    expect(git('rev-parse', 'HEAD')).toBe(later)
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('edited\n')

    const applied = await world.orch(['rollback', name, '--yes'])
    expect(applied.code, applied.stderr).toBe(0)
    expect(git('rev-parse', 'HEAD')).toBe(start)
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('one\n')
    expect(existsSync(join(repo, 'b.txt'))).toBe(false)
    expect(git('status', '--porcelain')).toBe('')
  })

  it('--max-log-size 100K on a command printing in a loop: run.log stays bounded, run.log.1 holds older output, [EXIT: 0] is last', async () => {
    const name = 'log-cap'
    const cap = parseSize('100K')!
    // ~1.25 MB in 50 bursts of 25 kB over about 5 s.
    await run(name, ["i=0; while [ $i -lt 50 ]; do head -c 25000 /dev/zero | tr '\\0' y | fold -w 99; i=$((i + 1)); sleep 0.1; done"], ['--max-log-size', '100K'])
    let largest = 0
    while (!existsSync(join(jobDir(name), 'exit'))) {
      try {
        largest = Math.max(largest, statSync(world.runLogPath(name)).size)
      } catch {}
      await sleep(50)
    }
    await wrapperGone(name)
    const log = world.readLog(name)
    const rotated = statSync(`${world.runLogPath(name)}.1`).size
    // The wrapper writes the log in chunks of the room left, so a part is rotated exactly at the cap.
    expect(largest).toBeLessThanOrEqual(cap + '[EXIT: 0]\n'.length)
    expect(rotated).toBe(cap)
    expect(log.length).toBeLessThanOrEqual(cap + 200)
    expect(lastLine(log)).toBe('[EXIT: 0]')
    expect(log).toMatch(/^\[orch: log passed 102400 bytes; earlier output moved to run\.log\.1\]\n/m)
    expect(await listed(name)).toMatchObject({state: 'DONE', exitCode: 0})
  })

  it('a burst far past the cap that ends before the next check still ends capped', async () => {
    const name = 'log-cap-burst'
    const cap = parseSize('100K')!
    await run(name, ["head -c 1000000 /dev/zero | tr '\\0' z | fold -w 99"], ['--max-log-size', '100K'])
    await wrapperGone(name)
    const log = world.readLog(name)
    expect(log.length).toBeLessThanOrEqual(cap + 200)
    expect(lastLine(log)).toBe('[EXIT: 0]')
    expect(statSync(`${world.runLogPath(name)}.1`).size).toBe(cap)
  })
})

interface PruneJson {
  where: 'cloud' | 'local'
  dryRun: boolean
  olderThanDays: number
  deleted: Array<{name: string; bytes: number}>
  bytesFreed: number
}

describe.skipIf(NO_SANDBOX)('retention: orch prune', {timeout: 120_000}, () => {
  it('deletes job directories older than 30 days, never a running one; --dry-run deletes nothing; --where picks the site', async () => {
    const cloudOld = ['prune-old-a', 'prune-old-b']
    await Promise.all([...cloudOld, 'prune-fresh'].map((name) => run(name, ['echo some output'])))
    await run('prune-old-running', ['echo running; sleep 60'])
    const local = await world.orch(['run', 'prune-local-old', '--where', 'local', '--', 'echo local'])
    expect(local.code, local.stderr).toBe(0)
    for (const name of [...cloudOld, 'prune-fresh']) await exited(name)
    await world.waitForLog('prune-old-running', /running\n/)
    await sleep(300)
    for (const name of [...cloudOld, 'prune-old-running']) ageTree(jobDir(name))
    ageTree(join(world.localLogRoot, 'prune-local-old'))

    const dry = await world.orch(['prune', '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    const dryOutcomes = JSON.parse(dry.stdout) as PruneJson[]
    expect(dryOutcomes.map((o) => [o.where, o.dryRun, o.olderThanDays, o.deleted.map((d) => d.name).sort()])).toEqual([
      ['local', true, 30, ['prune-local-old']],
      ['cloud', true, 30, cloudOld],
    ])
    for (const name of [...cloudOld, 'prune-old-running', 'prune-fresh']) expect(existsSync(jobDir(name)), name).toBe(true)
    expect(existsSync(join(world.localLogRoot, 'prune-local-old'))).toBe(true)

    const localOnly = await world.orch(['prune', '--where', 'local', '--json'])
    expect(localOnly.code, localOnly.stderr).toBe(0)
    const [localOutcome, ...noMore] = JSON.parse(localOnly.stdout) as PruneJson[]
    expect(noMore).toEqual([])
    expect(localOutcome).toMatchObject({where: 'local', dryRun: false, deleted: [{name: 'prune-local-old', bytes: expect.any(Number)}]})
    expect(localOutcome!.deleted[0]!.bytes).toBeGreaterThan(0)
    expect(existsSync(join(world.localLogRoot, 'prune-local-old'))).toBe(false)
    for (const name of cloudOld) expect(existsSync(jobDir(name)), name).toBe(true)

    const cloud = await world.orch(['prune', '--where', 'cloud', '--json'])
    expect(cloud.code, cloud.stderr).toBe(0)
    const [cloudOutcome] = JSON.parse(cloud.stdout) as PruneJson[]
    expect(cloudOutcome!.where).toBe('cloud')
    expect(cloudOutcome!.deleted.map((d) => d.name).sort()).toEqual(cloudOld)
    for (const entry of cloudOutcome!.deleted) expect(entry.bytes).toBeGreaterThan(0)
    expect(cloudOutcome!.bytesFreed).toBe(cloudOutcome!.deleted.reduce((sum, d) => sum + d.bytes, 0))
    for (const name of cloudOld) expect(existsSync(jobDir(name)), name).toBe(false)
    // The running job older than the limit, and the recent one, are kept.
    expect(existsSync(jobDir('prune-old-running'))).toBe(true)
    expect(existsSync(jobDir('prune-fresh'))).toBe(true)
    expect((await listed('prune-old-running')).state).toBe('RUNNING')
    expect((await world.orch(['stop', 'prune-old-running'])).code).toBe(0)
  })
})

describe.skipIf(NO_SANDBOX)('orch cron against a crontab of the test\'s own', {timeout: 120_000}, () => {
  it('install twice → one line, every other line byte for byte; show; remove restores the table', async () => {
    const spool = join(scratch, 'crontab.spool')
    const crontab = writeFakeCrontab(scratch, spool)
    const mine = "# my crontab — keep me as I am\r\nSHELL=/bin/sh\nMAILTO=''\n\n*/5 * * * * echo 'mine' >> /tmp/mine.log 2>&1\n   # indented comment\t\n0 0 * * * true # not-orch\n"
    writeFileSync(spool, mine)
    const env = {ORCH_CRONTAB: crontab}

    const first = await world.orch(['cron', 'install', '--json'], {env})
    expect(first.code, first.stderr).toBe(0)
    const second = await world.orch(['cron', 'install', '--json'], {env})
    expect(second.code, second.stderr).toBe(0)
    const table = readFileSync(spool, 'utf8')
    expect(table.startsWith(mine)).toBe(true)
    const added = table.slice(mine.length)
    expect(added.split('\n').filter(Boolean)).toHaveLength(1)
    const hostDir = world.sandbox.env().ORCH_HOST_DIR!
    expect(added).toBe(`17 3 * * * /bin/sh '${hostDir}/bin/log-retention.sh' --older-than-days 30 --root '${world.logRoot}' >> '${hostDir}/log-retention.log' 2>&1 # orch:log-retention\n`)
    expect(statSync(join(hostDir, 'bin', 'log-retention.sh')).mode & 0o111).not.toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({action: 'install', marker: 'orch:log-retention', line: added.trim()})

    const shown = await world.orch(['cron', 'show', '--json'], {env})
    expect(JSON.parse(shown.stdout)).toMatchObject({action: 'show', line: added.trim()})

    // bootstrap.sh installs the line by asking crontab-line.sh for its default: the same text, so
    // neither replaces the other's.
    const viaBootstrap = spawnSync('sh', [join(hostDir, 'bin', 'crontab-line.sh'), 'install'], {
      env: {...process.env, CRONTAB: crontab, ORCH_LOG_ROOT: world.logRoot, ORCH_LOG_RETENTION_DAYS: '30'},
      encoding: 'utf8',
    })
    expect(viaBootstrap.stdout, viaBootstrap.stderr).toMatch(/^already installed: /)

    const removed = await world.orch(['cron', 'remove', '--json'], {env})
    expect(removed.code, removed.stderr).toBe(0)
    expect(JSON.parse(removed.stdout)).toMatchObject({action: 'remove', line: null})
    expect(readFileSync(spool, 'utf8')).toBe(mine)
    const none = await world.orch(['cron', 'show', '--json'], {env})
    expect(none.code, none.stderr).toBe(0)
    expect(JSON.parse(none.stdout)).toMatchObject({line: null})
  })
})
