/**
 * `orch attach` driven inside a real terminal: a separate tmux server (prefix C-a) runs the CLI in
 * a pane; keys sent to that pane reach orch, which passes them over SSH to the job's own tmux
 * (prefix C-b), so `C-b d` detaches from the job's session and leaves it running.
 */
import {randomBytes} from 'node:crypto'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {BIN, OrchWorld, exec, sleep, stderrLines, tmuxEnv, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the orch attach integration tests', SANDBOX_TOOLS)

// Each test runs the CLI many times; a loaded machine (2 cores, other suites) makes that slow.
vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

let world: OrchWorld
const outerSocket = `orch-test-outer-${randomBytes(5).toString('hex')}`

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

function outer(args: readonly string[]) {
  return exec('tmux', ['-L', outerSocket, ...args], {env: tmuxEnv()})
}

async function capture(target: string): Promise<string> {
  return (await outer(['capture-pane', '-p', '-t', target])).stdout
}

async function waitForPane(target: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  let text = ''
  await waitUntil(`pane ${target} to show ${pattern}`, async () => pattern.test((text = await capture(target))), timeoutMs, 200).catch((error: Error) => {
    throw new Error(`${error.message}; the pane shows:\n${text}`)
  })
  return text
}

beforeAll(async () => {
  world = await OrchWorld.start()
  // The outer "terminal": its own server, no config file, prefix C-a so C-b passes through.
  const env = tmuxEnv({...(world.env() as Record<string, string>), TERM: 'xterm-256color'})
  const started = await exec('tmux', ['-L', outerSocket, '-f', '/dev/null', 'new-session', '-d', '-s', 'holder', 'sleep 600'], {env})
  if (started.code !== 0) throw new Error(`outer tmux: ${started.stderr}`)
  for (const option of [['prefix', 'C-a'], ['prefix2', 'None'], ['remain-on-exit', 'on'], ['status', 'off']]) {
    expect((await outer(['set', '-g', ...option])).code).toBe(0)
  }
})

afterAll(async () => {
  await outer(['kill-server'])
  // tmux 3.3 leaves the socket file behind (tmuxEnv() unsets TMUX_TMPDIR, so it is under /tmp).
  if (typeof process.getuid === 'function') rmSync(join('/tmp', `tmux-${process.getuid()}`, outerSocket), {force: true})
  await world?.cleanup()
})

/** A session in the outer server whose only pane runs `shellCommand` in the work dir. */
async function openTerminal(session: string, shellCommand: string): Promise<void> {
  const opened = await outer(['new-session', '-d', '-s', session, '-x', '120', '-y', '40', '-c', world.work, shellCommand])
  expect(opened.code, opened.stderr).toBe(0)
}

describe.skipIf(NO_SANDBOX)('orch attach', () => {
  it('shows the job in a terminal, passes keys and size through; C-b d detaches and leaves it RUNNING', async () => {
    const name = 'attach-live'
    await world.runCloud(name, ['echo ready; while read -r line; do echo "got: $line"; done'])
    await world.waitForLog(name, /ready\n/)
    const prefix = (await world.tmux(['show-options', '-gv', 'prefix'])).stdout.trim()
    expect(prefix).toMatch(/^C-/)

    // The pane runs a shell: attach, then report attach's status and whether the terminal left raw mode.
    const term = 'term-live'
    await openTerminal(term, `${quote(process.execPath)} ${quote(BIN)} attach ${name}; echo "attach exited $?"; stty -a | tr ' ' '\\n' | grep -x -- '-\\{0,1\\}icanon'; exec sleep 600`)
    const shown = await waitForPane(term, /ready/)
    expect(shown).toContain(`[${name.slice(0, 9)}`) // the job's tmux status line (its session name, cut to 10 columns)

    await outer(['send-keys', '-t', term, '-l', 'hello from the pane'])
    await outer(['send-keys', '-t', term, 'Enter'])
    await world.waitForLog(name, /got: hello from the pane\n/)
    await waitForPane(term, /got: hello from the pane/)

    // The job's window follows the size of the terminal orch runs in.
    const innerSize = async () => (await world.tmux(['display-message', '-p', '-t', `=${name}:`, '#{window_width}x#{window_height}'])).stdout.trim()
    await waitUntil('the job window to take the terminal width', async () => (await innerSize()).startsWith('120x'), 60_000, 200)
    expect((await outer(['resize-window', '-t', term, '-x', '100', '-y', '30'])).code).toBe(0)
    await waitUntil('the job window to follow a resize', async () => (await innerSize()).startsWith('100x'), 60_000, 200)

    // Detach with the job's prefix: the outer tmux (prefix C-a) passes it through to orch.
    await outer(['send-keys', '-t', term, prefix])
    await sleep(200)
    await outer(['send-keys', '-t', term, 'd'])
    // stty prints after attach's status line: wait for its answer, not only for the status.
    const after = await waitForPane(term, /attach exited \d+[\s\S]*^-?icanon$/m)
    expect(after).toMatch(/attach exited 0/)
    expect(after).toMatch(/^icanon$/m) // cooked mode again, not -icanon
    expect(await world.job(name)).toMatchObject({state: 'RUNNING'})
    expect((await world.tmux(['has-session', '-t', `=${name}`])).code).toBe(0)
    expect((await world.tmux(['list-clients', '-t', `=${name}`])).stdout.trim()).toBe('')

    // Still alive and reading: a second attach, then stop it.
    const term2 = 'term-again'
    await openTerminal(term2, `${quote(process.execPath)} ${quote(BIN)} attach ${name}`)
    await waitForPane(term2, /got: hello from the pane/)
    await outer(['send-keys', '-t', term2, '-l', 'second'])
    await outer(['send-keys', '-t', term2, 'Enter'])
    await world.waitForLog(name, /got: second\n/)
    const stopped = await world.orch(['stop', name, '--grace', '1'])
    expect(stopped.code).toBe(0)
    // The session ended under the attached client: orch attach returns.
    await waitUntil('the second attach to end', async () => (await outer(['display-message', '-p', '-t', term2, '#{pane_dead}'])).stdout.trim() === '1', 60_000, 200)
    expect(world.readLog(name)).toMatch(/^ready\ngot: hello from the pane\ngot: second\n(Terminated\n)?\[EXIT: 143\]\n$/)
  })

  it('a job made by hand (a tmux session and a run.log): attach shows it; C-b d detaches', async () => {
    const name = 'attach-hand-made'
    mkdirSync(join(world.logRoot, name), {recursive: true})
    writeFileSync(join(world.logRoot, name, 'run.log'), 'by hand\n')
    const made = await world.tmux(['new-session', '-d', '-s', name, 'echo hand-made-pane; while read -r line; do echo "hand: $line"; done'])
    expect(made.code, made.stderr).toBe(0)
    const term = 'term-hand-made'
    await openTerminal(term, `${quote(process.execPath)} ${quote(BIN)} attach ${name}; echo "attach exited $?"; exec sleep 600`)
    await waitForPane(term, /hand-made-pane/)
    await outer(['send-keys', '-t', term, '-l', 'typed'])
    await outer(['send-keys', '-t', term, 'Enter'])
    await waitForPane(term, /hand: typed/)
    const prefix = (await world.tmux(['show-options', '-gv', 'prefix'])).stdout.trim()
    await outer(['send-keys', '-t', term, prefix])
    await sleep(200)
    await outer(['send-keys', '-t', term, 'd'])
    expect(await waitForPane(term, /attach exited \d+/)).toMatch(/attach exited 0/)
    expect(await world.job(name)).toMatchObject({state: 'RUNNING'})
    expect((await world.orch(['stop', name])).code).toBe(0)
    expect(await world.job(name)).toMatchObject({state: 'STOPPED'})
  })

  it('a finished job: exit 1 with a message, in a terminal and without one', async () => {
    const name = 'attach-finished'
    await world.runCloud(name, ['echo bye'])
    await world.waitForExit(name)
    const result = await world.orch(['attach', name])
    expect(result.code).toBe(1)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/job attach-finished has finished.*orch logs attach-finished/)])

    const term = 'term-finished'
    await openTerminal(term, `${quote(process.execPath)} ${quote(BIN)} attach ${name}; echo "attach exited $?"; exec sleep 600`)
    const shown = await waitForPane(term, /attach exited \d+/)
    expect(shown).toMatch(/attach exited 1/)
    expect(shown).toMatch(/has finished; there is no session to attach to/)
  })

  it('a running job without a terminal: exit 2 saying a terminal is needed', async () => {
    const name = 'attach-no-tty'
    await world.runCloud(name, ['sleep 60'])
    const result = await world.orch(['attach', name])
    expect(result.code).toBe(2)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/needs an interactive terminal/)])
    expect((await world.orch(['stop', name, '--grace', '1'])).code).toBe(0)
  })

  it('a local job: exit 1, pointing at orch logs', async () => {
    expect((await world.orch(['run', 'attach-local', '--where', 'local', '--', 'true'])).code).toBe(0)
    const result = await world.orch(['attach', 'attach-local'])
    expect(result.code).toBe(1)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/local job.*orch logs -f attach-local/)])
  })
})
