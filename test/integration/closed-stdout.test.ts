/**
 * A reader that goes away (`orch list --json | head -1`) must end orch quietly: exit 0, nothing on
 * stderr, whichever entry point answered (fast route, fast path, oclif, oclif's help). Local jobs
 * only, so no sshd: HOME is a temp dir (local log root $HOME/logs) and tmux has its own socket.
 * The fixtures are real finished jobs, cloned so the outputs exceed a pipe's buffer.
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ageTree, psNow} from './helpers/host-kit.js'
import {BIN, ROOT, sleep} from './helpers/orch-cli.js'
import {skipWithout} from '../helpers/requirements.js'

const NO_TMUX = skipWithout('the closed-stdout integration tests', ['tmux'])

const CLONES = 2000
const AGED = 200

let tmp: string
let home: string
let work: string
let env: NodeJS.ProcessEnv
const background = new Set<ChildProcess>()

beforeAll(async () => {
  for (const built of ['dist/cli/dispatch.js', 'oclif.manifest.json']) readFileSync(join(ROOT, built))
  tmp = mkdtempSync(join(tmpdir(), 'orch-epipe-'))
  home = join(tmp, 'home')
  work = join(tmp, 'work')
  mkdirSync(home, {recursive: true})
  // A git root, so configuration discovery (scripts/cloud/.env upward) stops here.
  mkdirSync(join(work, '.git'), {recursive: true})
  env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ORCH_TMUX_SOCKET: `orch-epipe-${process.pid}`}

  for (const [name, command] of [
    ['seed', "printf 'hello\\n'"],
    ['big', 'seq 1 400000'],
  ]) {
    const ran = await orch(['run', name, '--where', 'local', '--', command])
    if (ran.code !== 0) throw new Error(`orch run ${name} exited ${String(ran.code)}: ${ran.stderr}`)
  }
  const logs = join(home, 'logs')
  for (let i = 1; i <= CLONES; i++) {
    const dir = join(logs, `job-${i}`)
    cpSync(join(logs, 'seed'), dir, {recursive: true, preserveTimestamps: true})
    const meta = join(dir, 'meta.json')
    writeFileSync(meta, readFileSync(meta, 'utf8').replace('"name":"seed"', `"name":"job-${i}"`))
    // Some old enough for prune (each old job costs prune time, so not all).
    if (i <= AGED) ageTree(dir)
  }
}, 120_000)

afterAll(async () => {
  for (const child of background) child.kill('SIGKILL')
  try {
    execFileSync('tmux', ['-L', env.ORCH_TMUX_SOCKET!, 'kill-server'], {stdio: 'ignore'})
  } catch {}
  if (tmp) rmSync(tmp, {recursive: true, force: true, maxRetries: 5})
})

function orch(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<{code: number | null; stdout: string; stderr: string}> {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: work, env: {...env, ...extra}, stdio: ['ignore', 'pipe', 'pipe']})
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8')}))
  })
}

interface Closed {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
  /** Bytes read before the reader went away. */
  read: number
}

/**
 * Run orch with stdout a pipe whose reader goes away: `first-byte` after the first chunk (as
 * `| head -c 1` does), `start` before orch wrote anything (so even a small output hits it).
 */
function closedReader(args: readonly string[], when: 'first-byte' | 'start', extra: NodeJS.ProcessEnv = {}): Promise<Closed> {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: work, env: {...env, ...extra}, stdio: ['ignore', 'pipe', 'pipe']})
  const stderr: Buffer[] = []
  let read = 0
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  if (when === 'start') child.stdout.destroy()
  else
    child.stdout.once('data', (chunk: Buffer) => {
      read = chunk.length
      child.stdout.destroy()
    })
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stderr: Buffer.concat(stderr).toString('utf8'), read})
    })
  })
}

const OCLIF = {ORCH_NO_FAST_PATH: '1'}

describe.skipIf(NO_TMUX)('a closed stdout ends orch quietly with status 0', () => {
  it('the fixtures are large: list --json and logs exceed a pipe buffer', async () => {
    const listed = await orch(['list', '--json', '--where', 'local'])
    expect(listed.code).toBe(0)
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(CLONES + 2)
    expect(listed.stdout.length).toBeGreaterThan(256 * 1024)
    expect(statSize(join(home, 'logs', 'big', 'run.log'))).toBeGreaterThan(1024 * 1024)
  })

  const cases: Array<[string, string[], NodeJS.ProcessEnv?]> = [
    ['list --json (fast path)', ['list', '--json', '--where', 'local']],
    ['list --json (oclif)', ['list', '--json', '--where', 'local'], OCLIF],
    ['list text (fast path)', ['list', '--where', 'local']],
    ['list text (oclif)', ['list', '--where', 'local'], OCLIF],
    ['logs (fast path)', ['logs', 'big', '--where', 'local']],
    ['logs (oclif)', ['logs', 'big', '--where', 'local'], OCLIF],
    ['prune --dry-run --json', ['prune', '--dry-run', '--json', '--where', 'local']],
    ['prune --dry-run text', ['prune', '--dry-run', '--where', 'local']],
  ]
  for (const [label, args, extra] of cases) {
    it(`${label}, reader gone after the first byte`, async () => {
      const result = await closedReader(args, 'first-byte', extra)
      expect(result.read).toBeGreaterThan(0)
      expect({code: result.code, signal: result.signal, stderr: result.stderr}).toEqual({code: 0, signal: null, stderr: ''})
    })
  }

  const small: Array<[string, string[], NodeJS.ProcessEnv?]> = [
    ...cases,
    ['route --json (fast route)', ['route', '--runtime', '1m', '--json']],
    ['route text (fast route)', ['route', '--runtime', '1m']],
    ['route --json (oclif)', ['route', '--runtime', '1m', '--json'], OCLIF],
    ['route --help (oclif help)', ['route', '--help']],
    ['orch --help', ['--help']],
    ['status --json (fast path)', ['status', '--json', '--where', 'local']],
    ['status text (oclif)', ['status', '--where', 'local'], OCLIF],
  ]
  for (const [label, args, extra] of small) {
    it(`${label}, reader gone before any output`, async () => {
      const result = await closedReader(args, 'start', extra)
      expect({code: result.code, signal: result.signal, stderr: result.stderr}).toEqual({code: 0, signal: null, stderr: ''})
    })
  }

  it('logs -f of a running job stops reading the log when its reader goes away', async () => {
    const job = spawn(process.execPath, [BIN, 'run', 'ticker', '--where', 'local', '--', 'while :; do echo tick; sleep 0.05; done'], {cwd: work, env, stdio: ['ignore', 'pipe', 'pipe']})
    background.add(job)
    job.stdout.resume()
    job.stderr.resume()
    const log = join(home, 'logs', 'ticker', 'run.log')
    for (let i = 0; i < 100 && statSize(log) === 0; i++) await sleep(100)
    expect(statSize(log)).toBeGreaterThan(0)

    const started = Date.now()
    const result = await closedReader(['logs', 'ticker', '-f', '--where', 'local'], 'first-byte')
    expect({code: result.code, signal: result.signal, stderr: result.stderr}).toEqual({code: 0, signal: null, stderr: ''})
    expect(Date.now() - started).toBeLessThan(10_000)
    // Nothing keeps reading the log for the follower that went away (the job's own `orch run` is
    // the only reader left; it follows through its wrapper, not through read-log's tail).
    let readers: string[] = []
    for (let i = 0; i < 20; i++) {
      readers = psNow()
        .split('\n')
        .filter((line) => line.includes(log) && /\btail\b/.test(line))
      if (readers.length === 0) break
      await sleep(100)
    }
    expect(readers).toEqual([])

    const stopped = await orch(['stop', 'ticker', '--where', 'local', '--grace', '1'])
    expect(stopped.code).toBe(0)
  })
})

function statSize(path: string): number {
  try {
    return readFileSync(path).length
  } catch {
    return 0
  }
}
