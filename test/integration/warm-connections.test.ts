/**
 * Connection reuse (issue 13.2, 13.4) against the real sshd: the detached holder a command leaves
 * behind (ORCH_CONTROL_PERSIST), and what happens when it, its connection or its socket goes
 * wrong. "Served by the holder" is proved by killing sshd's listener first: a command that
 * connected on its own would fail.
 */
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {OrchWorld, descendants, sleep, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the connection reuse tests', SANDBOX_TOOLS)

vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

/** Holder processes whose socket is under `home`. */
function holders(home: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (argv.some((arg) => arg.endsWith('orch-holder.js')) && argv.some((arg) => arg.startsWith(`${home}/`))) found.push(Number(entry))
    } catch {}
  }
  return found
}

/** A holder still running (a zombie, never reaped by a container's init, does not count). */
const isAlive = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('orch-holder')
  } catch {
    return false
  }
}

const socketDir = (world: OrchWorld) => join(world.home, '.orch', 'cm')
function sockets(world: OrchWorld): string[] {
  const dir = socketDir(world)
  return existsSync(dir) ? readdirSync(dir).filter((name) => lstatSync(join(dir, name)).isSocket()) : []
}

async function endHolders(world: OrchWorld): Promise<void> {
  for (const pid of holders(world.home)) process.kill(pid, 'SIGKILL')
  await waitUntil('holders to end', () => holders(world.home).length === 0, 10_000)
  for (const name of sockets(world)) await import('node:fs/promises').then((fs) => fs.rm(join(socketDir(world), name), {force: true}))
}

/** Runs `orch status --json` until a holder serves: one holder process and its socket. */
async function warm(world: OrchWorld): Promise<number> {
  const first = await world.orch(['status', '--json', '--where', 'cloud'])
  expect(first.code, first.stderr).toBe(0)
  await waitUntil('a holder and its socket', () => holders(world.home).length === 1 && sockets(world).length === 1, 30_000)
  return holders(world.home)[0]!
}

/** sshd's listener and every session it forked, SIGKILLed; the sandbox is restarted later. */
async function killSshdEntirely(world: OrchWorld): Promise<void> {
  const pid = world.sandbox.pid!
  const sessions = descendants(pid)
  await world.sandbox.kill()
  for (const child of sessions) {
    try {
      process.kill(child, 'SIGKILL')
    } catch {}
  }
}

describe.skipIf(NO_SANDBOX)('connection reuse', () => {
  let world: OrchWorld

  beforeAll(async () => {
    world = await OrchWorld.start()
  })

  afterEach(async () => {
    if (!world.sandbox.running) await world.sandbox.restart()
    await endHolders(world)
  })

  afterAll(async () => {
    await endHolders(world).catch(() => undefined)
    await world?.cleanup()
  })

  it('leaves one holder, 0600 in a 0700 directory, that serves the next commands without a new connection', async () => {
    await warm(world)
    expect(lstatSync(socketDir(world)).mode & 0o777).toBe(0o700)
    expect(lstatSync(join(socketDir(world), sockets(world)[0]!)).mode & 0o777).toBe(0o600)
    await world.sandbox.kill() // no new connection can be made from here on
    for (let i = 0; i < 3; i++) {
      const again = await world.orch(['status', '--json', '--where', 'cloud'])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toBe('[]\n')
      expect(again.stderr).toBe('')
    }
    const gone = await world.orch(['status', '--json', '--where', 'cloud'], {env: {ORCH_CONTROL_PERSIST: '0'}})
    expect(gone.code).not.toBe(0)
  })

  it('a command served by the holder does not load ssh2 (nor the direct connection code)', async () => {
    await warm(world)
    // A module resolve hook naming what loads, on stderr.
    const hook = join(world.tmp, 'hook.mjs')
    const register = join(world.tmp, 'register.mjs')
    writeFileSync(hook, "export async function resolve(s, c, next) { const r = await next(s, c); if (/ssh2|ssh-host|ssh-auth/.test(r.url)) process.stderr.write(`LOADED ${r.url}\\n`); return r }\n")
    writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify(`file://${hook}`)})\n`)
    const options = {env: {NODE_OPTIONS: `--import ${register}`}}
    const served = await world.orch(['status', '--json', '--where', 'cloud'], options)
    expect(served.code, served.stderr).toBe(0)
    expect(served.stderr).toBe('')
    const direct = await world.orch(['status', '--json', '--where', 'cloud'], {env: {...options.env, ORCH_CONTROL_PERSIST: '0'}})
    expect(direct.stderr).toMatch(/LOADED .*ssh2/) // the hook does see it when it loads    // orch run sends its job files as input: the holder reads them whole and runs start.sh on its
    // kept shell. A holder that waited for input it was never sent would leave the command to give
    // up on it and connect directly (ssh2 loaded, seconds later).
    const run = await world.orch(['run', 'warm-served', '--where', 'cloud', '--', 'echo served'], options)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).not.toMatch(/LOADED/)
    await world.waitForLog('warm-served', /served\n\[EXIT: 0\]\n$/, 30_000)
  })

  it('a holder killed with -9 between two calls: the next connects directly and replaces it', async () => {
    const before = await warm(world)
    process.kill(before, 'SIGKILL')
    await waitUntil('the holder to die', () => !isAlive(before), 5000)
    expect(sockets(world)).toHaveLength(1) // its socket is left behind, stale
    const next = await world.orch(['status', '--json', '--where', 'cloud'])
    expect(next).toMatchObject({code: 0, stdout: '[]\n', stderr: ''})
    await waitUntil('a new holder', () => holders(world.home).length === 1 && holders(world.home)[0] !== before, 30_000)
    await world.sandbox.kill()
    const served = await world.orch(['status', '--json', '--where', 'cloud'])
    expect(served).toMatchObject({code: 0, stdout: '[]\n', stderr: ''})
  })

  it('sshd restarted (sessions killed) while the holder idles: the next command still answers, and right', async () => {
    const before = await warm(world)
    await killSshdEntirely(world)
    await world.sandbox.restart()
    const next = await world.orch(['status', '--json', '--where', 'cloud'])
    expect(next).toMatchObject({code: 0, stdout: '[]\n', stderr: ''})
    expect(isAlive(before)).toBe(false) // it noticed its connection closed and left
    await waitUntil('a new holder', () => holders(world.home).length === 1, 30_000)
  })

  it('two orch processes racing with no holder leave exactly one', async () => {
    const results = await Promise.all([0, 1, 2].map(() => world.orch(['status', '--json', '--where', 'cloud'])))
    for (const result of results) expect(result).toMatchObject({code: 0, stdout: '[]\n'})
    await waitUntil('a holder', () => sockets(world).length === 1 && holders(world.home).length >= 1, 30_000)
    // Losers exit once they find the socket answered (or, having taken it over, notice within 1 s).
    await sleep(3000)
    expect(holders(world.home)).toHaveLength(1)
    expect(sockets(world)).toHaveLength(1)
    await world.sandbox.kill()
    expect(await world.orch(['status', '--json', '--where', 'cloud'])).toMatchObject({code: 0, stdout: '[]\n'})
  })

  it('a stale socket file left by a crash is replaced', async () => {
    await warm(world)
    const name = sockets(world)[0]!
    await endHolders(world)
    // A listener killed with -9 leaves its socket file: nobody answers there.
    const path = join(socketDir(world), name)
    const crashed = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`])
    await new Promise((resolve) => crashed.once('exit', resolve))
    expect(lstatSync(path).isSocket()).toBe(true)
    const next = await world.orch(['status', '--json', '--where', 'cloud'])
    expect(next).toMatchObject({code: 0, stdout: '[]\n', stderr: ''})
    await waitUntil('a holder on the same name', () => holders(world.home).length === 1 && sockets(world).length === 1, 30_000)
    await world.sandbox.kill()
    expect(await world.orch(['status', '--json', '--where', 'cloud'])).toMatchObject({code: 0, stdout: '[]\n'})
  })

  it('ORCH_CONTROL_PERSIST=0 leaves no process and no socket behind; a short one ends on time', async () => {
    for (let i = 0; i < 2; i++) expect(await world.orch(['status', '--json', '--where', 'cloud'], {env: {ORCH_CONTROL_PERSIST: '0'}})).toMatchObject({code: 0, stdout: '[]\n'})
    await sleep(1500)
    expect(holders(world.home)).toEqual([])
    expect(sockets(world)).toEqual([])
    expect(await world.orch(['status', '--json', '--where', 'cloud'], {env: {ORCH_CONTROL_PERSIST: 'no'}})).toMatchObject({code: 0})
    expect(holders(world.home)).toEqual([])

    expect(await world.orch(['status', '--json', '--where', 'cloud'], {env: {ORCH_CONTROL_PERSIST: '2s'}})).toMatchObject({code: 0})
    await waitUntil('the holder', () => holders(world.home).length === 1 && sockets(world).length === 1, 30_000)
    await waitUntil('the idle holder to end', () => holders(world.home).length === 0, 10_000)
    expect(sockets(world)).toEqual([])
  })

  it('orch host disconnect ends the holder', async () => {
    const pid = await warm(world)
    const result = await world.orch(['host', 'disconnect', '--json'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({host: expect.stringContaining('127.0.0.1'), disconnected: true})
    await waitUntil('the holder to end', () => !isAlive(pid), 5000)
    expect(sockets(world)).toEqual([])
    const again = await world.orch(['host', 'disconnect'])
    expect(again).toMatchObject({code: 0, stdout: expect.stringMatching(/^no held connection to /)})
  })

  it('refuses a control directory open to others: connects directly, starts no holder', async () => {
    await warm(world)
    await endHolders(world)
    chmodSync(socketDir(world), 0o755)
    try {
      const result = await world.orch(['status', '--json', '--where', 'cloud'])
      expect(result.code).toBe(0)
      expect(result.stdout).toBe('[]\n')
      expect(result.stderr).toMatch(/connections are not reused: .* open to others/)
      await sleep(1500)
      expect(holders(world.home)).toEqual([])
    } finally {
      chmodSync(socketDir(world), 0o700)
    }
  })

  it('outputs, exit codes and JSON are the same with and without reuse', async () => {
    const script = "echo out; printf 'no newline'; echo err >&2; exit 3"
    const cold = (args: string[]) => world.orch(args, {env: {ORCH_CONTROL_PERSIST: '0'}})
    const hot = (args: string[]) => world.orch(args)
    expect(await cold(['run', 'same-a', '--where', 'cloud', '--wait', '--', 'sh', '-c', script])).toMatchObject({code: 3})
    await warm(world)
    const runHot = await hot(['run', 'same-b', '--where', 'cloud', '--wait', '--', 'sh', '-c', script])
    expect(runHot.code).toBe(3)
    const checks: string[][] = [
      ['logs', 'same-a'],
      ['logs', 'same-a', '--tail', '1'],
      ['logs', 'nosuch'],
      ['stop', 'nosuch'],
      ['list', '--json', '--where', 'cloud'],
      ['status', '--json', '--where', 'cloud'],
      ['status', '--where', 'cloud'],
    ]
    for (const args of checks) {
      const [a, b] = [await cold(args), await hot(args)]
      expect({args, ...b}).toEqual({args, ...a})
    }
    expect(holders(world.home)).toHaveLength(1)
  })

  it('logs -f through a holder that dies resumes at its byte offset', async () => {
    await world.runCloud('follow-me', ['sh', '-c', 'for i in $(seq 1 30); do echo "line $i"; sleep 0.1; done'])
    const holder = await warm(world)
    const follow = world.spawn(['logs', '-f', 'follow-me'])
    await waitUntil('the first lines', () => follow.stdoutText().includes('line 2\n'), 30_000)
    process.kill(holder, 'SIGKILL')
    const result = await follow.output
    expect(result.code, result.stderr).toBe(0)
    const expected = `${Array.from({length: 30}, (_, i) => `line ${i + 1}`).join('\n')}\n[EXIT: 0]\n`
    expect(result.stdout).toBe(expected)
    expect(world.readLog('follow-me')).toBe(expected)
  })
})

describe.skipIf(NO_SANDBOX)('connection reuse with MaxSessions 3', () => {
  let world: OrchWorld

  beforeAll(async () => {
    world = await OrchWorld.start({maxSessions: 3})
  })

  afterAll(async () => {
    await endHolders(world).catch(() => undefined)
    await world?.cleanup()
  })

  it('50 concurrent commands through one holder: channels wait their turn, none fails', async () => {
    await warm(world)
    await world.sandbox.kill() // a command not served by the holder would fail
    const results = await Promise.all(Array.from({length: 50}, () => world.orch(['status', '--json', '--where', 'cloud'], {timeoutMs: 200_000})))
    const failed = results.filter((result) => result.code !== 0 || result.stdout !== '[]\n')
    expect(failed).toEqual([])
  })
})
