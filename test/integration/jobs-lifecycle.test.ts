/**
 * How jobs end and what orch reports when things break, against a real OpenSSH server and a real
 * tmux: orch stop, sessions killed behind orch's back, wrappers that vanished, the sshd killed and
 * restarted during `orch logs -f`, and connection errors (refused, auth, tmux missing).
 */
import {execFileSync} from 'node:child_process'
import {readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync, mkdirSync, existsSync, appendFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {OrchWorld, descendants, exec, isAlive, lastLine, sleep, stderrLines, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the job lifecycle integration tests', SANDBOX_TOOLS)

// Each test runs the CLI many times; a loaded machine (2 cores, other suites) makes that slow.
vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

let world: OrchWorld

beforeAll(async () => {
  world = await OrchWorld.start()
})

afterAll(async () => {
  await world?.cleanup()
})

const LOOP = 'echo "PID=$$"; while :; do sleep 0.2; done'

async function startLooping(name: string, script = LOOP): Promise<void> {
  await world.runCloud(name, [script])
  await world.waitForLog(name, /PID=\d+\n/)
}

async function hasSession(name: string): Promise<boolean> {
  return (await world.tmux(['has-session', '-t', `=${name}`])).code === 0
}

describe.skipIf(NO_SANDBOX).concurrent('orch stop', () => {
  it('stops a running job: STOPPED, log ends [EXIT: 143], session gone', async () => {
    const name = 'stop-running'
    await startLooping(name)
    const stopped = await world.orch(['stop', name])
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toMatch(/stop-running STOPPED \(exit 143\)/)
    expect(await world.job(name)).toMatchObject({state: 'STOPPED', exitCode: 143})
    const log = world.readLog(name)
    expect(lastLine(log)).toBe('[EXIT: 143]')
    expect(await hasSession(name)).toBe(false)
    expect(await world.orch(['logs', '-f', name])).toMatchObject({code: 143, stdout: log})
    // status lists unfinished jobs only.
    const status = JSON.parse((await world.orch(['status', '--json'])).stdout) as Array<{name: string}>
    expect(status.map((job) => job.name)).not.toContain(name)
  })

  it('a command trapping TERM is killed after --grace 1: [EXIT: 137], STOPPED', async () => {
    const name = 'stop-trapped'
    await startLooping(name, `trap 'echo got TERM' TERM; ${LOOP}`)
    const started = Date.now()
    const stopped = await world.orch(['stop', name, '--grace', '1'])
    expect(stopped.code).toBe(0)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect(stopped.stdout).toMatch(/STOPPED \(exit 137\)/)
    expect(lastLine(world.readLog(name))).toBe('[EXIT: 137]')
    expect(world.readLog(name)).toContain('got TERM\n')
    expect(await world.job(name)).toMatchObject({state: 'STOPPED', exitCode: 137})
    expect(await world.orch(['logs', '-f', name])).toMatchObject({code: 137})
  })

  it('stop --json reports the outcome', async () => {
    const name = 'stop-json'
    await startLooping(name)
    const stopped = await world.orch(['stop', name, '--json'])
    expect(stopped.code).toBe(0)
    expect(JSON.parse(stopped.stdout)).toMatchObject({name, state: 'STOPPED', exitCode: 143, alreadyFinished: false})
  })

  it('stopping a finished job: exit 0, a message, nothing changed', async () => {
    const name = 'stop-finished'
    await world.runCloud(name, ['echo finished'])
    await world.waitForExit(name)
    const before = world.readLog(name)
    const stopped = await world.orch(['stop', name])
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toMatch(/already finished.*DONE.*exit 0.*nothing to stop/)
    expect(world.readLog(name)).toBe(before)
    expect(await world.job(name)).toMatchObject({state: 'DONE', exitCode: 0})
  })

  it('stopping a STOPPED job says STOPPED, with its own exit status', async () => {
    const name = 'stop-twice'
    await startLooping(name)
    expect((await world.orch(['stop', name])).code).toBe(0)
    const again = await world.orch(['stop', name])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/already finished \(STOPPED, exit 143\); nothing to stop/)
    const json = JSON.parse((await world.orch(['stop', name, '--json'])).stdout) as Record<string, unknown>
    expect(json).toMatchObject({state: 'STOPPED', exitCode: 143, alreadyFinished: true})
  })

  it('a vanished job: stop ends what is left of it, and it stays FAILED with no made-up exit status; its env.sh goes', async () => {
    const name = 'stop-vanished'
    // It ignores the hangup its terminal sends when the wrapper dies, as daemons and nohup'd programs do.
    // And a daemon of its own session (setsid), which the process group does not reach.
    await world.runCloud(name, [`setsid sh -c 'echo "DAEMON=$$"; exec sleep 600' &\ntrap "" HUP; echo "PID=$$"; while :; do sleep 0.2; done`], ['--env', 'SECRET_TOKEN=hunter2'])
    await world.waitForLog(name, /PID=\d+\n/)
    const command = Number(/PID=(\d+)/.exec(world.readLog(name))![1])
    const daemon = Number(/DAEMON=(\d+)/.exec(await world.waitForLog(name, /DAEMON=\d+\n/))![1])
    const wrapper = Number(readFileSync(join(world.logRoot, name, 'pid'), 'utf8').trim())
    expect(existsSync(join(world.logRoot, name, 'env.sh'))).toBe(true)
    process.kill(wrapper, 'SIGKILL') // the wrapper alone: its command lives on in the process group
    await waitUntil('the wrapper to die', () => !isAlive(wrapper))
    expect(isAlive(command)).toBe(true)
    // A wrapper whose pid file is from the second the process table was read may have started
    // after it (job-lib.sh pid_after_ps): for up to a second it counts as alive. Warm commands
    // are fast enough to list within that second, so the listing may say RUNNING once, never
    // FAILED with a made-up status.
    let listed = await world.job(name)
    for (let tries = 0; listed?.state === 'RUNNING' && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      listed = await world.job(name)
    }
    expect(listed).toMatchObject({state: 'FAILED', exitCode: null, reason: 'vanished'})
    // The first listing that saw it vanished deleted its secrets.
    expect(existsSync(join(world.logRoot, name, 'env.sh'))).toBe(false)
    const before = world.readLog(name)

    const stopped = await world.orch(['stop', name])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stdout).toMatch(/already finished \(FAILED, exit -\)/)
    await waitUntil('the leftover command and daemon to end', () => !isAlive(command) && !isAlive(daemon), 10_000)
    expect(world.readLog(name)).toBe(before)
    expect(await world.job(name)).toMatchObject({state: 'FAILED', exitCode: null, reason: 'vanished'})
  })

  it('stop ends what left the job\'s process group and session (setsid children, one ignoring TERM), and only this job\'s', async () => {
    const name = 'stop-setsid'
    const other = 'stop-setsid-other'
    // Two daemons in sessions of their own: one ends on TERM, one ignores it (KILL after --grace).
    const daemons = [
      `setsid sh -c 'echo "DAEMON=$$"; exec sleep 600' &`,
      `setsid sh -c 'trap "" TERM; echo "STUBBORN=$$"; while :; do sleep 0.2; done' &`,
      'echo "PID=$$"; wait',
    ].join('\n')
    await world.runCloud(name, [daemons])
    await world.runCloud(other, [`setsid sh -c 'echo "DAEMON=$$"; exec sleep 600' & wait`])
    const log = await world.waitForLog(name, /(?=[\s\S]*DAEMON=\d+\n)(?=[\s\S]*STUBBORN=\d+\n)(?=[\s\S]*PID=\d+\n)/)
    const daemon = Number(/DAEMON=(\d+)/.exec(log)![1])
    const stubborn = Number(/STUBBORN=(\d+)/.exec(log)![1])
    const bystander = Number(/DAEMON=(\d+)/.exec(await world.waitForLog(other, /DAEMON=\d+\n/))![1])
    const wrapper = Number(readFileSync(join(world.logRoot, name, 'pid'), 'utf8').trim())
    // They did leave: a process group and a session of their own, not the wrapper's.
    const sessionOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3])
    for (const pid of [daemon, stubborn]) expect(sessionOf(pid)).toBe(pid)
    expect(sessionOf(wrapper)).not.toBe(daemon)

    const stopped = await world.orch(['stop', name, '--grace', '2'])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stdout).toMatch(/stop-setsid STOPPED \(exit 1[34][37]\)/)
    await waitUntil('the setsid children to end', () => !isAlive(daemon) && !isAlive(stubborn), 5_000)
    expect(await world.job(name)).toMatchObject({state: 'STOPPED'})
    expect(lastLine(world.readLog(name))).toMatch(/^\[EXIT: 1[34][37]\]$/)
    // Another job's daemon is not this job's.
    expect(isAlive(bystander)).toBe(true)
    expect((await world.orch(['stop', other])).code).toBe(0)
    await waitUntil('the other job\'s daemon to end', () => !isAlive(bystander), 5_000)
  })

  it('interrupted followers (Ctrl-C, a killed client) leave nothing reading on the host, counted', async () => {
    // The three host sides of a follower: an orch job (tail -f), a job with a log cap (the rotation
    // reader: it registers, and a leaked one would hold the next rotation for minutes) and a job made
    // by hand (no wrapper: polling). All silent: nothing to write into a closed pipe, so only the
    // client's going can end them.
    const name = 'follow-interrupted'
    const capped = 'follow-interrupted-capped'
    const manual = 'follow-interrupted-manual'
    const silent = 'echo "PID=$$"; exec sleep 600'
    await startLooping(name, silent)
    await world.runCloud(capped, [silent], ['--max-log-size', '1M'])
    await world.waitForLog(capped, /PID=\d+\n/)
    mkdirSync(join(world.logRoot, manual))
    writeFileSync(join(world.logRoot, manual, 'run.log'), 'PID=0 made by hand\n')
    expect((await world.tmux(['new-session', '-d', '-s', manual, 'sleep 600'])).code).toBe(0)
    // The host side of a follower: the read-log script (its text is in its arguments; size_of() is its own) and its tail.
    const followers = (job: string) =>
      execFileSync('ps', ['-A', '-ww', '-o', 'args='], {encoding: 'utf8'})
        .split('\n')
        .filter((args) => (args.startsWith('tail ') && args.includes(`/${job}/run.log`)) || (args.includes('size_of()') && args.includes(` ${world.logRoot} ${world.tmuxSocket} ${job} `))).length
    let interrupted = 0
    for (const job of [name, capped, manual]) {
      for (const how of ['SIGINT', 'SIGKILL', 'SIGKILL'] as const) {
        const follower = world.spawn(['logs', '-f', job])
        await waitUntil('the follower to print', () => follower.stdoutText().includes('PID='))
        expect(followers(job)).toBeGreaterThan(0)
        follower.kill(how)
        await follower.output
        interrupted++
      }
      await waitUntil(`every follower of ${job} to end on the host`, () => followers(job) === 0, 10_000)
    }
    // run --wait follows the same way: interrupted, it leaves nothing either.
    for (const how of ['SIGINT', 'SIGKILL'] as const) {
      const job = `follow-interrupted-wait-${how.toLowerCase()}`
      const waiting = world.spawn(['run', job, '--where', 'cloud', '--wait', '--', silent])
      await waitUntil('the waiting run to print', () => waiting.stdoutText().includes('PID='))
      expect(followers(job)).toBeGreaterThan(0)
      waiting.kill(how)
      await waiting.output
      interrupted++
      await waitUntil(`the follower of ${job} to end on the host`, () => followers(job) === 0, 10_000)
      expect(await world.job(job)).toMatchObject({state: 'RUNNING'})
      expect((await world.orch(['stop', job])).code).toBe(0)
    }
    expect(interrupted).toBe(11)
    // The capped job's registrations went with its followers: a rotation waits for no one.
    expect(readdirSync(join(world.logRoot, capped, 'followers')).filter((entry) => isAlive(Number(entry)))).toEqual([])
    for (const job of [name, capped, manual]) expect(await world.job(job)).toMatchObject({state: 'RUNNING'})
    for (const job of [name, capped]) expect((await world.orch(['stop', job])).code).toBe(0)
    await world.tmux(['kill-session', '-t', `=${manual}`])
  })

  it('an unknown job: stop, logs and attach exit 4 with one line', async () => {
    for (const args of [['stop', 'no-such-job'], ['logs', 'no-such-job'], ['logs', '-f', 'no-such-job'], ['attach', 'no-such-job']]) {
      const result = await world.orch(args)
      expect(result.code, args.join(' ')).toBe(4)
      expect(stderrLines(result)).toEqual([expect.stringMatching(/^orch: no job named no-such-job/)])
      expect(result.stdout).toBe('')
    }
  })
})

describe.skipIf(NO_SANDBOX)('sessions and wrappers that vanish behind orch\'s back', () => {
  it('tmux kill-session: FAILED within a few seconds, exit 129 recorded', async () => {
    const name = 'killed-session'
    await startLooping(name)
    expect((JSON.parse((await world.orch(['status', '--json'])).stdout) as Array<{name: string}>).map((job) => job.name)).toContain(name)
    const killedAt = Math.floor(Date.now() / 1000)
    const killed = await world.tmux(['kill-session', '-t', `=${name}`])
    expect(killed.code).toBe(0)
    const job = await world.waitForState(name, ['FAILED', 'DONE', 'STOPPED'])
    expect(job).toMatchObject({state: 'FAILED', exitCode: 129})
    // Noticed within a few seconds (the wrapper checks its session every 2 s).
    const ended = Number(readFileSync(join(world.logRoot, name, 'ended'), 'utf8'))
    expect(ended - killedAt).toBeLessThanOrEqual(6)
    expect(lastLine(world.readLog(name))).toBe('[EXIT: 129]')
    expect((await world.orch(['logs', '-f', name])).code).toBe(129)
  })

  it('tmux kill-server: every job FAILED, exit 129', async () => {
    await Promise.all([startLooping('killed-server-a'), startLooping('killed-server-b')])
    expect((await world.tmux(['kill-server'])).code).toBe(0)
    for (const name of ['killed-server-a', 'killed-server-b']) {
      expect(await world.waitForState(name, ['FAILED', 'DONE', 'STOPPED'])).toMatchObject({state: 'FAILED', exitCode: 129})
      expect(lastLine(world.readLog(name))).toBe('[EXIT: 129]')
    }
    // A later run starts a new tmux server.
    await world.runCloud('after-kill-server', ['echo alive'])
    expect(await world.orch(['logs', '-f', 'after-kill-server'])).toMatchObject({code: 0, stdout: 'alive\n[EXIT: 0]\n'})
  })

  it('the whole job killed at once (as by a reboot): FAILED with no exit code, never RUNNING', async () => {
    const name = 'killed-whole'
    await startLooping(name)
    const wrapper = Number(readFileSync(join(world.logRoot, name, 'pid'), 'utf8').trim())
    expect(wrapper).toBeGreaterThan(1)
    process.kill(-wrapper, 'SIGKILL') // the pane's process group: wrapper, monitor, tee, command
    await waitUntil('the wrapper to die', () => !isAlive(wrapper))
    const job = await world.waitForState(name, ['FAILED', 'DONE', 'STOPPED'])
    expect(job).toMatchObject({state: 'FAILED', exitCode: null})
    expect(existsSync(join(world.logRoot, name, 'exit'))).toBe(false)
    const followed = await world.orch(['logs', '-f', name])
    expect(followed.code).toBe(1)
    expect(stderrLines(followed)).toEqual([expect.stringMatching(/vanished/)])
    expect(followed.stdout).toMatch(/^PID=\d+\n/)
    expect((await world.orch(['logs', name])).code).toBe(0)
    const status = JSON.parse((await world.orch(['status', '--json'])).stdout) as Array<{name: string}>
    expect(status.map((job) => job.name)).not.toContain(name)
  })

  it('orch run --wait of a job that vanishes (every process killed, as by a reboot) exits 1, never 0', async () => {
    // The job's process group; or, closer to a reboot, the tmux server and everything under it at
    // once (the sshd's user is this test's, so "every process of the user" is every process orch
    // and tmux made for it).
    for (const [json, how] of [[false, 'group'], [true, 'group'], [false, 'server']] as const) {
      const name = `wait-vanished-${how}-${json ? 'json' : 'text'}`
      const waiting = world.spawn(['run', name, '--where', 'cloud', '--wait', ...(json ? ['--json'] : []), '--', 'echo "PID=$$"; while :; do sleep 0.2; done'])
      await world.waitForLog(name, /PID=\d+\n/)
      const wrapper = Number(readFileSync(join(world.logRoot, name, 'pid'), 'utf8').trim())
      if (how === 'group') process.kill(-wrapper, 'SIGKILL')
      else {
        const server = Number((await world.tmux(['display-message', '-p', '#{pid}'])).stdout.trim())
        expect(server).toBeGreaterThan(1)
        const all = [server, ...descendants(server)]
        expect(all).toContain(wrapper)
        for (const pid of all) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {}
        }
      }
      const result = await waiting.output
      expect(result.code, result.stderr).toBe(1)
      if (json) expect(JSON.parse(result.stdout)).toMatchObject({name, state: 'FAILED', exitCode: null})
      else expect(lastLine(result.stderr)).toMatch(/ended without an exit status.*FAILED/)
      expect(await world.job(name)).toMatchObject({state: 'FAILED', exitCode: null, reason: 'vanished'})
      expect((await world.orch(['logs', '-f', name])).code).toBe(1)
    }
  })

  it('job directories with a dead pid, a recycled pid, or a start that never completed: FAILED', async () => {
    await world.runCloud('template', ['true'])
    await world.waitForExit('template')
    const meta = JSON.parse(readFileSync(join(world.logRoot, 'template', 'meta.json'), 'utf8')) as Record<string, unknown>
    const fake = (name: string, files: Record<string, string>) => {
      const dir = join(world.logRoot, name)
      mkdirSync(dir)
      writeFileSync(join(dir, 'meta.json'), `${JSON.stringify({...meta, name, command: `fake ${name}`})}\n`)
      writeFileSync(join(dir, 'run.log'), 'partial output\n')
      for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
      return dir
    }
    const dead = await exec('sh', ['-c', 'echo $$'])
    const deadPid = dead.stdout.trim()
    expect(isAlive(Number(deadPid))).toBe(false)
    const now = String(Math.floor(Date.now() / 1000))
    fake('fake-dead-pid', {pid: `${deadPid}\n`, started: `${now}\n`})
    // A live process that is not an orch wrapper (the pid was recycled after a reboot).
    fake('fake-recycled-pid', {pid: `${process.pid}\n`, started: `${now}\n`})
    // Their wrappers wrote those pid files before this listing read the process table (a pid file
    // newer than that read is a wrapper just starting: STARTING; see job-lib.sh pid_after_ps).
    const earlier = new Date(Date.now() - 5_000)
    for (const name of ['fake-dead-pid', 'fake-recycled-pid']) utimesSync(join(world.logRoot, name, 'pid'), earlier, earlier)
    const stale = fake('fake-stale-start', {})
    const old = new Date(Date.now() - 10 * 60_000)
    utimesSync(join(stale, 'meta.json'), old, old)
    const fresh = fake('fake-fresh-start', {})
    expect(existsSync(join(fresh, 'pid'))).toBe(false)

    const jobs = await world.list()
    const byName = (name: string) => jobs.find((job) => job.name === name)
    expect(byName('fake-dead-pid')).toMatchObject({state: 'FAILED', exitCode: null, command: 'fake fake-dead-pid'})
    expect(byName('fake-recycled-pid')).toMatchObject({state: 'FAILED', exitCode: null})
    expect(byName('fake-stale-start')).toMatchObject({state: 'FAILED', exitCode: null})
    // Just created, no wrapper yet: still starting.
    expect(byName('fake-fresh-start')).toMatchObject({state: 'STARTING'})
    for (const name of ['fake-dead-pid', 'fake-recycled-pid']) {
      const followed = await world.orch(['logs', '-f', name])
      expect(followed.code, name).toBe(1)
      expect(followed.stdout).toBe('partial output\n')
      expect(followed.stderr).toMatch(/vanished/)
    }
  })
})

describe.skipIf(NO_SANDBOX)('the sshd killed and restarted during orch logs -f', () => {
  it('reconnects, resumes at its byte offset: every line exactly once, then the job\'s status', async () => {
    const name = 'follow-reconnect'
    const gateA = join(world.tmp, 'reconnect-a')
    const gateB = join(world.tmp, 'reconnect-b')
    const wait = (gate: string) => `while [ ! -e '${gate}' ]; do sleep 0.1; done`
    // 1-10 slowly; wait for gate A; 11-40 while the sshd is down; wait for gate B; 41-50; exit 42.
    const script = [
      'for i in $(seq 1 10); do echo "line $i"; sleep 0.1; done',
      wait(gateA),
      'for i in $(seq 11 40); do echo "line $i"; sleep 0.05; done',
      wait(gateB),
      'for i in $(seq 41 50); do echo "line $i"; sleep 0.05; done',
      'exit 42',
    ].join('\n')
    await world.runCloud(name, [script])
    const follow = world.spawn(['logs', '-f', name], {timeoutMs: 120_000})
    await waitUntil('the first lines', () => follow.stdoutText().includes('line 10\n'), 60_000)

    // Kill the listener and every per-connection sshd process: the follower's connection drops.
    const listener = world.sandbox.pid!
    const sessions = descendants(listener)
    expect(sessions.length).toBeGreaterThan(0)
    await world.sandbox.kill()
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    writeFileSync(gateA, '')
    await world.waitForLog(name, /line 40\n/)
    await waitUntil('a reconnection attempt', () => /reconnecting/.test(follow.stderrText()), 60_000)
    await sleep(1500) // a few refused attempts
    expect(follow.exitCode).toBe(null)
    await world.sandbox.restart()
    await waitUntil('the follower to catch up', () => follow.stdoutText().includes('line 40\n'), 60_000)
    writeFileSync(gateB, '')
    const result = await follow.output
    const expected = Array.from({length: 50}, (_, i) => `line ${i + 1}\n`).join('') + '[EXIT: 42]\n'
    expect(result.stdout).toBe(expected)
    expect(result.code).toBe(42)
    expect(result.stderr).toMatch(/connection lost; reconnecting/)
    expect(world.readLog(name)).toBe(expected)
  })
})

describe.skipIf(NO_SANDBOX)('connection errors', () => {
  it('auth failed: exit 6, one line', async () => {
    const key = join(world.tmp, 'stranger_ed25519')
    expect((await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])).code).toBe(0)
    const result = await world.orch(['run', 'auth-fail', '--where', 'cloud', '--', 'true'], {env: {ORCH_SSH_KEY: key}})
    expect(result.code).toBe(6)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/^orch: authentication failed/)])
    expect(world.logRootEntries()).not.toContain('auth-fail')
  })

  it('no cloud host configured: exit 3 naming the variable', async () => {
    const result = await world.orch(['run', 'no-host', '--where', 'cloud', '--', 'true'], {env: {ORCH_HOST: undefined}})
    expect(result.code).toBe(3)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/ORCH_HOST/)])
  })

  it('tmux missing on the host: exit 8 saying how to install it, nothing created', async () => {
    // A second client key whose sessions get a PATH holding everything but tmux.
    const fakebin = join(world.tmp, 'no-tmux-bin')
    mkdirSync(fakebin)
    const seen = new Set<string>()
    for (const dir of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      let entries: string[] = []
      try {
        entries = readdirSync(dir)
      } catch {}
      for (const entry of entries) {
        if (entry === 'tmux' || seen.has(entry)) continue
        seen.add(entry)
        symlinkSync(join(dir, entry), join(fakebin, entry))
      }
    }
    const key = join(world.tmp, 'no_tmux_ed25519')
    expect((await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])).code).toBe(0)
    const publicKey = readFileSync(`${key}.pub`, 'utf8').trim()
    appendFileSync(join(world.sandbox.dir, 'authorized_keys'), `command="PATH=${fakebin}; export PATH; eval \\"$SSH_ORIGINAL_COMMAND\\"" ${publicKey}\n`)
    const env = {ORCH_SSH_KEY: key}
    // The trick works: the key logs in, and tmux is not found.
    const probe = await exec('ssh', [...world.sandbox.sshArgs().map((arg) => (arg === world.sandbox.clientKeyPath ? key : arg)), 'command -v tmux || echo none'])
    expect(probe.stdout.trim()).toBe('none')
    const result = await world.orch(['run', 'no-tmux', '--where', 'cloud', '--', 'true'], {env})
    expect(result.code).toBe(8)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/tmux is not installed.*apt-get install -y tmux/)])
    expect(world.logRootEntries()).not.toContain('no-tmux')
  })

  it('connection refused (sshd stopped): exit 6 with one line, for every command; local jobs still work', async () => {
    // A warm connection (ORCH_CONTROL_PERSIST) outlives sshd's listener, as OpenSSH's ControlMaster
    // does: end it, so that every command below needs a new connection.
    expect((await world.orch(['host', 'disconnect'])).code).toBe(0)
    await world.sandbox.stop()
    try {
      for (const args of [['run', 'refused', '--where', 'cloud', '--', 'true'], ['list'], ['status', '--json'], ['logs', 'refused'], ['stop', 'refused'], ['attach', 'refused']]) {
        const result = await world.orch(args)
        expect(result.code, args.join(' ')).toBe(6)
        expect(stderrLines(result), args.join(' ')).toEqual([expect.stringMatching(/^orch: connection refused by 127\.0\.0\.1:\d+ — /)])
        if (args.includes('--json')) expect(JSON.parse(result.stdout)).toMatchObject({error: {code: 'connection', exitCode: 6}})
        else expect(result.stdout).toBe('')
      }
      const local = await world.orch(['run', 'while-refused', '--where', 'local', '--', 'echo here'])
      expect(local.code).toBe(0)
      expect(local.stdout).toContain('here\n')
      const listed = JSON.parse((await world.orch(['list', '--json', '--where', 'local'])).stdout) as Array<{name: string}>
      expect(listed.map((job) => job.name)).toContain('while-refused')
    } finally {
      await world.sandbox.restart()
    }
    expect((await world.orch(['list', '--json'])).code).toBe(0)
  })
})
