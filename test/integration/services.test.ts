/**
 * Services (orch run --restart, PM2's job done by the wrapper on the host), against the real
 * loopback sshd and tmux of the job tests: a crash loop ends FAILED restart-storm after exactly
 * --max-restarts; a service that exits after a few seconds is restarted until orch stop ends it
 * for good; a memory hog over --max-memory is killed and restarted; a simulated reboot (every
 * process of the host user killed, then the @reboot line run as cron runs it) brings a service
 * back; bad flag values are refused before anything starts. The crontab is a fake of the test's
 * own (ORCH_CRONTAB): the machine's crontab is never touched. The built CLI runs as a child
 * process (`npm run build` first).
 */
import {spawnSync} from 'node:child_process'
import {chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type JobJson, OrchWorld, type Result, isAlive, lastLine, sleep, waitUntil} from './helpers/orch-cli.js'
import {ageTree, writeFakeCrontab} from './helpers/host-kit.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the services integration tests', SANDBOX_TOOLS)
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0
if (!NO_SANDBOX && !IS_ROOT) console.warn('skipping the simulated reboot: it kills every process of a host user made for it (useradd), which needs root')
const NO_REBOOT = NO_SANDBOX || !IS_ROOT || skipWithout('the simulated reboot', ['useradd', 'runuser'])

interface Job extends JobJson {
  attempts: number
  restarts: number
  reason: string | null
}

let world: OrchWorld
let scratch: string

beforeAll(async () => {
  if (NO_SANDBOX) return
  world = await OrchWorld.start()
  scratch = join(world.tmp, 'scratch')
  mkdirSync(scratch, {recursive: true})
})

afterAll(async () => {
  await world?.cleanup()
})

async function run(name: string, argv: readonly string[], flags: readonly string[], on = world, env: Record<string, string> = {}): Promise<Result> {
  const result = await on.orch(['run', name, '--where', 'cloud', ...flags, '--', ...argv], {env})
  expect(result.code, `orch run ${name}: ${result.stderr}`).toBe(0)
  return result
}

async function listed(name: string, on = world): Promise<Job> {
  const job = (await on.job(name)) as Job | undefined
  expect(job, `${name} in orch list`).toBeDefined()
  return job!
}

const jobDir = (name: string, on = world) => join(on.logRoot, name)
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0

/** Pids of the processes whose environment carries the job's tag (the command's whole tree). */
function tagged(name: string, on = world): number[] {
  const tag = `ORCH_JOB_ID=${name}.${readFileSync(join(jobDir(name, on), 'marker'), 'utf8').trim()}`
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(tag)) pids.push(Number(entry))
    } catch {}
  }
  return pids
}

describe.skipIf(NO_SANDBOX).concurrent('restart policies', {timeout: 120_000}, () => {
  it('a crash loop: restarted with a growing delay, then FAILED restart-storm after exactly --max-restarts', async () => {
    const name = 'svc-crash'
    await run(name, ['echo boom; exit 3'], ['--restart', 'always', '--max-restarts', '3', '--min-uptime', '5s', '--restart-delay', '1s'])
    const log = await world.waitForExit(name)
    expect(log).toMatch(
      new RegExp(
        [
          'boom',
          String.raw`\[RESTART 1 in 1s: exit 3 after [0-4]s; quick restart 1/3\]`,
          'boom',
          String.raw`\[RESTART 2 in 2s: exit 3 after [0-4]s; quick restart 2/3\]`,
          'boom',
          String.raw`\[RESTART 3 in 4s: exit 3 after [0-4]s; quick restart 3/3\]`,
          'boom',
          String.raw`\[orch: restart-storm: 4 exits in a row within --min-uptime 5s, more than --max-restarts 3; not restarted\]`,
          String.raw`\[EXIT: 3\]`,
          '',
        ].join('\n') + '$',
      ),
    )
    const job = await listed(name)
    expect(job).toMatchObject({state: 'FAILED', exitCode: 3, reason: 'restart-storm', restarts: 3, attempts: 4})
    // The waits (1 + 2 + 4 s) really happened on the host.
    expect(Date.parse(job.endedAt!) - Date.parse(job.startedAt!)).toBeGreaterThanOrEqual(7000)
    expect((await world.tmux(['has-session', '-t', `=${name}`])).code).not.toBe(0)
  })

  it('a command that exits 0 at once under --restart always is a storm too: FAILED, whatever its status', async () => {
    const name = 'svc-clean-storm'
    await run(name, ['echo once'], ['--restart', 'always', '--max-restarts', '0', '--notify'], world, {ORCH_NOTIFY: 'stdout'})
    expect(await world.waitForExit(name)).toMatch(/^once\n\[orch: restart-storm: 1 exits in a row within --min-uptime 5s, more than --max-restarts 0; not restarted\]\n\[EXIT: 0\]\n$/)
    expect(await listed(name)).toMatchObject({state: 'FAILED', exitCode: 0, reason: 'restart-storm', restarts: 0})
    // The notification says it failed, and why.
    await waitUntil('the notification', () => existsSync(join(jobDir(name), 'notified')), 20_000)
    expect(readFileSync(join(jobDir(name), 'notification'), 'utf8')).toMatch(/^svc-clean-storm FAILED \(exit 0, restart-storm\) after \d+s on \S+\n/)
    // An agent waiting on it is told it failed.
    const followed = await world.orch(['run', 'svc-clean-storm-wait', '--where', 'cloud', '--wait', '--restart', 'always', '--max-restarts', '0', '--', 'true'])
    expect(followed.code).toBe(1)
  })

  it('--restart on-failure: restarted after failures, DONE after the first clean exit', async () => {
    const name = 'svc-on-failure'
    const counter = join(scratch, `${name}.count`)
    await run(name, [`n=$(cat '${counter}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${counter}'; echo "run $n"; [ $n -ge 3 ]`], ['--restart', 'on-failure', '--restart-delay', '0s'])
    expect(await world.waitForExit(name)).toMatch(/^run 1\n\[RESTART 1 in 0s: exit 1 after [0-4]s; quick restart 1\/10\]\nrun 2\n\[RESTART 2 in 0s: exit 1 after [0-4]s; quick restart 2\/10\]\nrun 3\n\[EXIT: 0\]\n$/)
    expect(await listed(name)).toMatchObject({state: 'DONE', exitCode: 0, reason: null, restarts: 2, attempts: 3})
  })

  it('a service that exits after a few seconds is restarted until orch stop, which ends it for good', async () => {
    const name = 'svc-periodic'
    const counter = join(scratch, `${name}.count`)
    await run(name, [`n=$(cat '${counter}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${counter}'; echo "run $n"; sleep 2`], ['--restart', 'always', '--min-uptime', '1s', '--restart-delay', '1s'])
    // Runs that lasted longer than --min-uptime: never quick, the delay stays 1s, no storm.
    const log = await world.waitForLog(name, /\[RESTART 3 in 1s: exit 0 after \d+s\]\nrun 4\n/, 60_000)
    expect(count(log, /\[RESTART \d+ in 1s: exit 0 after [2-9]s\]\n/)).toBe(3)
    const running = await listed(name)
    expect(running).toMatchObject({state: 'RUNNING', reason: 'exited', exitCode: null})
    expect(running.restarts).toBeGreaterThanOrEqual(3)
    const status = JSON.parse((await world.orch(['status', '--json'])).stdout) as Job[]
    expect(status.find((job) => job.name === name)).toMatchObject({state: 'RUNNING', reason: 'exited'})

    const stopped = await world.orch(['stop', name])
    expect(stopped.code, stopped.stderr).toBe(0)
    const ended = await world.waitForExit(name)
    const runs = readFileSync(counter, 'utf8').trim()
    await sleep(4000)
    // Nothing ran again: no new run, no process of the job, no session, and [EXIT: N] is still the last line.
    expect(readFileSync(counter, 'utf8').trim()).toBe(runs)
    expect(world.readLog(name)).toBe(ended)
    expect(tagged(name)).toEqual([])
    expect((await world.tmux(['has-session', '-t', `=${name}`])).code).not.toBe(0)
    const job = await listed(name)
    expect(job.state).toBe('STOPPED')
    expect(lastLine(ended)).toBe(`[EXIT: ${job.exitCode}]`)
    expect(isAlive(Number(readFileSync(join(jobDir(name), 'pid'), 'utf8')))).toBe(false)
  })

  it('what a run left behind ends before the next run starts: the whole tree is restarted', async () => {
    const name = 'svc-leftover'
    await run(name, ['setsid sleep 300 > /dev/null 2>&1 & echo run; sleep 1'], ['--restart', 'always', '--min-uptime', '1s', '--restart-delay', '1s'])
    await world.waitForLog(name, /\[RESTART 3 in 1s: [^\n]*\]\nrun\n/, 60_000)
    const sleepers = () => tagged(name).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\u0000300'))
    await waitUntil('the latest run\'s sleeper', () => sleepers().length > 0, 5000, 50)
    // Only the latest run's: the three before it were ended at each restart.
    expect(sleepers().length).toBe(1)
    expect((await world.orch(['stop', name])).code).toBe(0)
    expect(tagged(name)).toEqual([])
  })

  it('--on-boot where the crontab cannot be written: refused (exit 8), and the service is not left running without it', async () => {
    const name = 'svc-no-cron'
    const result = await world.orch(['run', name, '--where', 'cloud', '--restart', 'always', '--on-boot', '--', 'sleep 300'], {env: {ORCH_CRONTAB: join(scratch, 'no-such-crontab')}})
    expect(result.code, result.stderr).toBe(8)
    expect(result.stderr).toMatch(/^orch: cannot install the @reboot line of svc-no-cron on \S+: .+/)
    expect(await listed(name)).toMatchObject({state: 'STOPPED'})
    expect(existsSync(join(jobDir(name), 'on-boot'))).toBe(false)
    expect(tagged(name)).toEqual([])
  })

  it('a memory hog over --max-memory: its process tree is killed and restarted, the reason recorded', async () => {
    const name = 'svc-hog'
    const counter = join(scratch, `${name}.count`)
    // The first run holds ~96 MiB in a child of the command that left its process group and session
    // (the cap is on the whole tree, whatever group it is in); later runs stay small.
    const hog = `n=$(cat '${counter}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${counter}'; echo "run $n"; if [ $n = 1 ]; then setsid bash -c 'x=$(head -c 100000000 /dev/zero | tr "\\0" x); sleep 60'; fi; sleep 60`
    await run(name, [hog], ['--restart', 'always', '--max-memory', '50M', '--restart-delay', '1s'])
    const log = await world.waitForLog(name, /run 2\n/, 60_000)
    expect(log).toMatch(/^run 1\n\[RESTART 1 in 1s: killed over --max-memory 50M at (\d+)M after \d+s(; quick restart 1\/10)?\]\nrun 2\n$/)
    const at = Number(/ at (\d+)M/.exec(log)![1])
    expect(at).toBeGreaterThan(50)
    // This machine offers no cgroup v2 memory controller to the user: the wrapper's monitor held the cap, and says why.
    const mode = readFileSync(join(jobDir(name), 'memory-mode'), 'utf8')
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) expect(mode).toMatch(/^(monitor: .+|cgroup)\n$/)
    else expect(mode).toBe('monitor: no cgroup v2 at /sys/fs/cgroup\n')
    expect(await listed(name)).toMatchObject({state: 'RUNNING', reason: 'memory-limit', restarts: 1})
    expect((await world.orch(['stop', name])).code).toBe(0)
    expect(await listed(name)).toMatchObject({state: 'STOPPED', restarts: 1})
  })

  it('--max-memory without --restart: killed, FAILED memory-limit, not run again', async () => {
    const name = 'svc-hog-once'
    await run(name, ["echo start; x=$(head -c 100000000 /dev/zero | tr '\\0' x); echo never"], ['--max-memory', '40M'])
    const log = await world.waitForExit(name)
    expect(log).toMatch(/^start\n\[orch: memory-limit: killed over --max-memory 40M at \d+M after \d+s; not restarted \(no --restart\)\]\n\[EXIT: 137\]\n$/)
    expect(await listed(name)).toMatchObject({state: 'FAILED', exitCode: 137, reason: 'memory-limit', restarts: 0})
  })
})

describe.skipIf(NO_SANDBOX)('bad service flags', () => {
  it.each([
    [['--max-memory', '12X'], /^orch: --max-memory "12X" is not a size/],
    [['--restart', 'sometimes'], /^orch: --restart "sometimes" is not one of always, on-failure/],
    [['--restart', 'always', '--max-restarts', '-1'], /^orch: --max-restarts "-1" is not a whole number/],
    [['--max-restarts', '3'], /^orch: --max-restarts is for services/],
    [['--restart', 'always', '--retries', '2'], /^orch: --retries is for batch jobs/],
    [['--on-boot', '--restart', 'always', '--where', 'local'], /^orch: --on-boot is for a service on the cloud host/],
    [['--restart', 'on-failure', '--where', 'local'], /^orch: --restart is for a service on the cloud host/],
  ])('%j: one line on stderr, exit 2, nothing started', async (flags, message) => {
    const before = world.logRootEntries()
    const result = await world.orch(['run', 'svc-bad', ...(flags.includes('--where') ? [] : ['--where', 'cloud']), ...flags, '--', 'echo never'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(message)
    expect(world.logRootEntries()).toEqual(before)
    expect(existsSync(join(world.localLogRoot, 'svc-bad'))).toBe(false)
  })
})

/** A host user of the test's own: "every process of the host user" can be killed without touching the test. */
function makeUser(user: string): void {
  spawnSync('userdel', ['-r', user], {encoding: 'utf8'})
  const made = spawnSync('useradd', ['-m', '-s', '/bin/sh', user], {encoding: 'utf8'})
  if (made.status !== 0) throw new Error(`useradd ${user}: ${made.stderr}`)
  // No password, but not locked: sshd (without PAM) refuses a locked account even with a key.
  spawnSync('usermod', ['-p', '*', user])
}

function asUser(user: string, home: string, script: string): Result {
  // cron's environment: HOME, LOGNAME, SHELL=/bin/sh and a short PATH, nothing of ours.
  const done = spawnSync('runuser', ['-u', user, '--', 'env', '-i', `HOME=${home}`, `LOGNAME=${user}`, 'SHELL=/bin/sh', 'PATH=/usr/bin:/bin', '/bin/sh', '-c', script], {encoding: 'utf8', timeout: 30_000})
  return {code: done.status, signal: done.signal, stdout: done.stdout, stderr: done.stderr}
}

describe.skipIf(NO_REBOOT)('--on-boot and a simulated reboot (a host user of its own)', {timeout: 180_000}, () => {
  const user = 'orch-svc-boot'
  let host: OrchWorld
  let spool: string
  let env: Record<string, string>
  /** The user's own crontab lines, which orch must keep byte for byte. */
  const MINE = "# my crontab\r\nMAILTO=''\n\n*/5 * * * * echo mine # not-orch\n"

  beforeAll(async () => {
    makeUser(user)
    host = await OrchWorld.start({user})
    const home = host.sandbox.home
    const dir = join(home, 'fake-cron')
    mkdirSync(dir, {recursive: true})
    spool = join(dir, 'spool')
    writeFileSync(spool, MINE)
    const crontab = writeFakeCrontab(dir, spool)
    const entry = spawnSync('getent', ['passwd', user], {encoding: 'utf8'}).stdout.trim().split(':')
    for (const path of [dir, spool, crontab]) chownSync(path, Number(entry[2]), Number(entry[3]))
    env = {ORCH_CRONTAB: crontab}
  })

  afterAll(async () => {
    await host?.cleanup()
    // The user goes with everything it still runs (sshd sessions closing, a job's leftovers).
    for (let tries = 0; tries < 20; tries++) {
      asUser(user, '/', 'kill -KILL -1')
      if (spawnSync('userdel', ['-r', user], {encoding: 'utf8'}).status !== 8) break
      await sleep(250)
    }
  })

  const bootLine = (name: string) => readFileSync(spool, 'utf8').split('\n').find((line) => line.endsWith(`# orch:boot:${name}`))
  /** Run the @reboot line's command the way cron does at boot: as the user, through /bin/sh, in cron's environment. */
  const cronAtBoot = (name: string) => asUser(user, host.sandbox.home, bootLine(name)!.replace(/^@reboot\s+/, ''))

  it('the service comes back after every process of the user was killed; orch stop removes the line and it stays down', async () => {
    const name = 'svc-boot'
    await run(name, ['echo "up $SVC_WORD"; echo "PATH=$PATH"; sleep 300'], ['--restart', 'always', '--on-boot', '--env', 'SVC_WORD=again'], host, env)
    const first = await host.waitForLog(name, /^up again\nPATH=.*\n$/)
    // cron's PATH is /usr/bin:/bin; the service must come back with the one it was started with.
    expect(first).not.toBe('up again\nPATH=/usr/bin:/bin\n')
    expect(readFileSync(spool, 'utf8')).toBe(`${MINE}${bootLine(name)}\n`)
    const dir = jobDir(name, host)
    expect(bootLine(name)).toBe(`@reboot [ -f ${dir}/on-boot ] && /bin/sh ${dir}/orch-wrapper.sh ${dir} boot ${host.tmuxSocket} ${name} >> ${dir}/boot.log 2>&1 # orch:boot:${name}`)
    const wrapper = Number(readFileSync(join(jobDir(name, host), 'pid'), 'utf8'))

    // The reboot: every process of the host user, killed at once (the tmux server, the wrapper, the command).
    asUser(user, host.sandbox.home, 'kill -KILL -1')
    await waitUntil('the wrapper to be gone', () => !isAlive(wrapper), 10_000)
    const down = await listed(name, host)
    expect(down).toMatchObject({state: 'FAILED', reason: 'vanished', exitCode: null})

    const boot = cronAtBoot(name)
    expect(boot.code, `${boot.stderr}\n${readFileSync(join(jobDir(name, host), 'boot.log'), 'utf8')}`).toBe(0)
    const log = await host.waitForLog(name, /\[RESTART 1: the host restarted\]\nup again\nPATH=.*\n$/)
    expect(log).toBe(`${first}[RESTART 1: the host restarted]\n${first}`)
    expect(await listed(name, host)).toMatchObject({state: 'RUNNING', reason: 'reboot', restarts: 1})
    // Run twice (cron and a person), the line never starts a second copy.
    expect(cronAtBoot(name).code).toBe(0)
    await sleep(1000)
    expect(host.readLog(name)).toBe(log)

    const stopped = await host.orch(['stop', name], {env})
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(readFileSync(spool, 'utf8')).toBe(MINE)
    expect(existsSync(join(jobDir(name, host), 'on-boot'))).toBe(false)
    const ended = await host.waitForExit(name)
    // The line as it was, run again after another reboot: nothing starts.
    asUser(user, host.sandbox.home, 'kill -KILL -1')
    const stale = `[ -f '${jobDir(name, host)}/on-boot' ] && /bin/sh '${jobDir(name, host)}/orch-wrapper.sh' '${jobDir(name, host)}' boot '${host.tmuxSocket}' '${name}'`
    asUser(user, host.sandbox.home, stale)
    await sleep(1500)
    expect(host.readLog(name)).toBe(ended)
    expect(await listed(name, host)).toMatchObject({state: 'STOPPED'})
  })

  it('a service that ends for good on its own (restart-storm) takes its @reboot line with it', async () => {
    const name = 'svc-boot-storm'
    await run(name, ['exit 1'], ['--restart', 'always', '--max-restarts', '1', '--restart-delay', '0s', '--on-boot'], host, env)
    await host.waitForExit(name)
    await waitUntil('the @reboot line to go', () => bootLine(name) === undefined, 10_000)
    expect(readFileSync(spool, 'utf8')).toBe(MINE)
    expect(await listed(name, host)).toMatchObject({state: 'FAILED', reason: 'restart-storm', restarts: 1})
  })

  it('a service that vanished and is pruned takes its @reboot line with it', async () => {
    const name = 'svc-boot-pruned'
    await run(name, ['echo up; sleep 300'], ['--restart', 'always', '--on-boot'], host, env)
    await host.waitForLog(name, /^up\n$/)
    expect(bootLine(name)).toBeDefined()
    asUser(user, host.sandbox.home, 'kill -KILL -1')
    await waitUntil('the job to vanish', async () => (await listed(name, host)).state === 'FAILED', 10_000)
    ageTree(jobDir(name, host))
    const pruned = await host.orch(['prune', '--older-than', '30d', '--where', 'cloud'], {env})
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(existsSync(jobDir(name, host))).toBe(false)
    expect(readFileSync(spool, 'utf8')).toBe(MINE)
  })
})
