/**
 * Jobs made by hand the protocol's way (seeds/003): a tmux session NAME whose output is tee'd to
 * ~/logs/NAME/run.log, ending "[EXIT: N]". Such a directory, holding none of orch's files, is a
 * job for every command: list, status, logs (-f, --tail), stop (kill-session, STOPPED recorded),
 * run (refused while the session lives, and the `orch stop` it suggests works), and prune.
 *
 * The tmux server is the job's: ORCH_TMUX_SOCKET when set, else tmux's default server (where the
 * protocol's `tmux new -s NAME` puts the session). Here it is the sandbox's socket.
 */
import {appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'
import {ageTree} from './helpers/host-kit.js'
import {type JobJson, OrchWorld, sleep, waitUntil} from './helpers/orch-cli.js'

const NO_SANDBOX = skipWithout('the hand-made job tests', SANDBOX_TOOLS)

vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

let world: OrchWorld

beforeAll(async () => {
  world = await OrchWorld.start()
})

afterAll(async () => {
  await world?.cleanup()
})

const dirOf = (name: string) => join(world.logRoot, name)

/** ~/logs/NAME/run.log holding `text`, nothing else. */
function handMadeDir(name: string, text: string): void {
  mkdirSync(dirOf(name), {recursive: true})
  writeFileSync(join(dirOf(name), 'run.log'), text)
}

/** A tmux session NAME on the job's server, as the protocol starts one. */
async function handMadeSession(name: string, command = 'sleep 600'): Promise<void> {
  const made = await world.tmux(['new-session', '-d', '-s', name, command])
  expect(made.code, made.stderr).toBe(0)
}

async function sessionLives(name: string): Promise<boolean> {
  return (await world.tmux(['has-session', '-t', `=${name}`])).code === 0
}

async function listed(name: string): Promise<JobJson | undefined> {
  return world.job(name)
}

describe.skipIf(NO_SANDBOX)('a hand-made job directory (run.log only)', () => {
  it('finished: DONE or FAILED from its last [EXIT: N]; logs, --tail, -f; not in status; stop says it is over', async () => {
    handMadeDir('hm-done', 'made by hand\n[EXIT: 0]\n')
    handMadeDir('hm-failed', 'made by hand\noops\n[EXIT: 3]\n')
    expect(await listed('hm-done')).toMatchObject({state: 'DONE', exitCode: 0, target: 'cloud'})
    expect(await listed('hm-failed')).toMatchObject({state: 'FAILED', exitCode: 3})
    expect(await world.orch(['logs', 'hm-done'])).toMatchObject({code: 0, stdout: 'made by hand\n[EXIT: 0]\n', stderr: ''})
    expect(await world.orch(['logs', 'hm-failed', '--tail', '1'])).toMatchObject({code: 0, stdout: '[EXIT: 3]\n'})
    expect(await world.orch(['logs', '-f', 'hm-failed'])).toMatchObject({code: 3, stdout: 'made by hand\noops\n[EXIT: 3]\n'})
    const status = JSON.parse((await world.orch(['status', '--json'])).stdout) as JobJson[]
    expect(status.map((job) => job.name)).not.toContain('hm-done')
    const stop = await world.orch(['stop', 'hm-done'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout + stop.stderr).toMatch(/already|DONE/)
    expect(await listed('hm-done')).toMatchObject({state: 'DONE', exitCode: 0})
  })

  it('running while its session lives: in status, logs -f follows it to the [EXIT] line written by hand', async () => {
    handMadeDir('hm-live', 'started by hand\n')
    await handMadeSession('hm-live')
    expect(await listed('hm-live')).toMatchObject({state: 'RUNNING', exitCode: null})
    const status = JSON.parse((await world.orch(['status', '--json'])).stdout) as JobJson[]
    expect(status.find((job) => job.name === 'hm-live')).toMatchObject({state: 'RUNNING'})
    const follow = world.spawn(['logs', '-f', 'hm-live'])
    await waitUntil('logs -f to print the first line', () => follow.stdoutText().includes('started by hand\n'), 30_000)
    appendFileSync(join(dirOf('hm-live'), 'run.log'), 'more\n[EXIT: 5]\n')
    const followed = await follow.output
    expect(followed).toMatchObject({code: 5, stdout: 'started by hand\nmore\n[EXIT: 5]\n'})
    expect(await listed('hm-live')).toMatchObject({state: 'FAILED', exitCode: 5})
    await world.tmux(['kill-session', '-t', '=hm-live'])
  })

  it('neither an exit line nor a session: FAILED, exit unknown', async () => {
    handMadeDir('hm-gone', 'started by hand, then the host rebooted\n')
    expect(await listed('hm-gone')).toMatchObject({state: 'FAILED', exitCode: null})
  })

  it('orch stop kills its session and records STOPPED; the log ends with the status', async () => {
    handMadeDir('hm-stop', 'started by hand\n')
    await handMadeSession('hm-stop')
    const stop = await world.orch(['stop', 'hm-stop', '--json'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(JSON.parse(stop.stdout)).toMatchObject({name: 'hm-stop', state: 'STOPPED'})
    expect(await sessionLives('hm-stop')).toBe(false)
    const log = readFileSync(join(dirOf('hm-stop'), 'run.log'), 'utf8')
    expect(log).toMatch(/^started by hand\n\[EXIT: \d+\]\n$/)
    expect(await listed('hm-stop')).toMatchObject({state: 'STOPPED'})
    expect((await world.orch(['logs', '-f', 'hm-stop'])).stdout).toBe(log)
  })

  it('orch run on its name refuses while the session lives; the orch stop it suggests works', async () => {
    handMadeDir('hm-busy', 'started by hand\n')
    await handMadeSession('hm-busy')
    const refused = await world.orch(['run', 'hm-busy', '--where', 'cloud', '--', 'echo mine'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('orch stop hm-busy')
    expect(readFileSync(join(dirOf('hm-busy'), 'run.log'), 'utf8')).toBe('started by hand\n')
    const stop = await world.orch(['stop', 'hm-busy'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(await sessionLives('hm-busy')).toBe(false)
    const again = await world.orch(['run', 'hm-busy', '--where', 'cloud', '--replace', '--wait', '--', 'echo mine'])
    expect(again).toMatchObject({code: 0, stdout: 'mine\n[EXIT: 0]\n'})
  })
})

describe.skipIf(NO_SANDBOX)('a hand-made tmux session with no directory', () => {
  it('is no job in the list, but blocks orch run, and the orch stop it suggests kills it', async () => {
    await handMadeSession('hm-nodir')
    expect(await listed('hm-nodir')).toBeUndefined()
    const refused = await world.orch(['run', 'hm-nodir', '--where', 'cloud', '--', 'echo mine'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('orch stop hm-nodir')
    expect(existsSync(dirOf('hm-nodir'))).toBe(false)
    const stop = await world.orch(['stop', 'hm-nodir'])
    expect(stop.code, stop.stderr).toBe(0)
    expect(await sessionLives('hm-nodir')).toBe(false)
    expect(existsSync(dirOf('hm-nodir'))).toBe(false)
    const again = await world.orch(['run', 'hm-nodir', '--where', 'cloud', '--wait', '--', 'echo mine'])
    expect(again).toMatchObject({code: 0, stdout: 'mine\n[EXIT: 0]\n'})
  })

  it('orch stop of a name with neither a directory nor a session: no job named', async () => {
    const stop = await world.orch(['stop', 'hm-nothing'])
    expect(stop.code).not.toBe(0)
    expect(stop.stderr).toMatch(/no job named hm-nothing/)
  })
})

describe.skipIf(NO_SANDBOX)('list and prune agree on what a job is', () => {
  it('an old finished hand-made job is listed and pruned; a running one and a directory without run.log are kept', async () => {
    handMadeDir('hm-old-done', 'old\n[EXIT: 0]\n')
    handMadeDir('hm-old-running', 'old and running\n')
    await handMadeSession('hm-old-running')
    mkdirSync(join(dirOf('hm-not-a-job')), {recursive: true})
    writeFileSync(join(dirOf('hm-not-a-job'), 'notes.txt'), 'mine\n')
    for (const name of ['hm-old-done', 'hm-old-running', 'hm-not-a-job']) ageTree(dirOf(name))
    await sleep(100)
    const names = (await world.list()).map((job) => job.name)
    expect(names).toContain('hm-old-done')
    expect(names).toContain('hm-old-running')
    expect(names).not.toContain('hm-not-a-job')
    const prune = await world.orch(['prune', '--older-than', '7d', '--where', 'cloud', '--json'])
    expect(prune.code, prune.stderr).toBe(0)
    const deleted = (JSON.parse(prune.stdout) as Array<{deleted: Array<{name: string}>}>).flatMap((site) => site.deleted.map((job) => job.name))
    expect(deleted).toContain('hm-old-done')
    expect(deleted).not.toContain('hm-old-running')
    expect(deleted).not.toContain('hm-not-a-job')
    expect(existsSync(dirOf('hm-not-a-job'))).toBe(true)
    expect(existsSync(dirOf('hm-old-running'))).toBe(true)
    await world.tmux(['kill-session', '-t', '=hm-old-running'])
  })
})
