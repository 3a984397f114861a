/**
 * Shared harness of the job integration tests: the BUILT CLI (`npm run build` first) run as a child
 * process against a private sandbox sshd, with its own HOME and cwd in a temp dir and no ORCH_*
 * variable from this process. Nothing here touches the real ~/logs, ~/.ssh, crontab or the default
 * tmux server: every tmux call names the sandbox's socket.
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type SandboxSshd, startSandboxSshd} from '../../helpers/sandbox-sshd.js'

/** The repository; ORCH_IT_ROOT may name a copy of its bin/, dist/, package.json and manifest instead. */
export const ROOT = process.env.ORCH_IT_ROOT || fileURLToPath(new URL('../../../', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')

export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface JobJson {
  name: string
  state: string
  target: 'cloud' | 'local'
  host: string
  command: string
  startedAt: string | null
  endedAt: string | null
  exitCode: number | null
  logPath: string
}

export interface RunOptions {
  /** Extra or replacing environment variables (undefined deletes one). */
  env?: Record<string, string | undefined>
  cwd?: string
  input?: string
  timeoutMs?: number
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** An environment without TMUX/TMUX_TMPDIR, so `tmux -L` finds the same sockets as the sshd sessions. */
export function tmuxEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, ...extra}
  delete env.TMUX
  delete env.TMUX_TMPDIR
  delete env.TMUX_PANE
  return env
}

export function exec(file: string, args: readonly string[], options: {env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number} = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args as string[], {env: options.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      resolve({code: error ? (typeof raw === 'number' ? raw : null) : 0, signal: child.signalCode, stdout: String(stdout), stderr: String(stderr)})
    })
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

/** One test file's world: a sandbox sshd, a temp HOME and cwd, and the CLI pointed at them. */
export class OrchWorld {
  readonly home: string
  readonly work: string
  private readonly children = new Set<ChildProcess>()

  private constructor(
    readonly sandbox: SandboxSshd,
    readonly tmp: string,
  ) {
    this.home = join(tmp, 'home')
    // A git root, so configuration discovery (scripts/cloud/.env upward) stops here.
    this.work = join(tmp, 'work')
    mkdirSync(this.home, {recursive: true})
    mkdirSync(join(this.work, '.git'), {recursive: true})
  }

  /** `user`: the host user the sandbox sshd logs in (see startSandboxSshd); this process's by default. */
  static async start(options: {user?: string; maxSessions?: number; sessionEnv?: Record<string, string>} = {}): Promise<OrchWorld> {
    for (const built of ['dist/commands/run.js', 'dist/jobs/sh/orch-wrapper.sh', 'oclif.manifest.json']) {
      if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` before these tests`)
    }
    const sandbox = await startSandboxSshd({...(options.user === undefined ? {} : {user: options.user}), ...(options.maxSessions === undefined ? {} : {maxSessions: options.maxSessions}), ...(options.sessionEnv === undefined ? {} : {sessionEnv: options.sessionEnv})})
    return new OrchWorld(sandbox, mkdtempSync(join(tmpdir(), 'orch-it-')))
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL')
    // Jobs still running write into the sandbox dir; end their process groups before it is removed.
    const wrappers = [this.logRoot, this.localLogRoot].flatMap((root) => {
      let names: string[] = []
      try {
        names = readdirSync(root)
      } catch {}
      return names.map((name) => {
        try {
          return Number(readFileSync(join(root, name, 'pid'), 'utf8').trim())
        } catch {
          return 0
        }
      })
    })
    for (const pid of wrappers.filter((pid) => pid > 1 && isWrapper(pid))) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {}
    }
    await waitUntil('job wrappers to exit', () => wrappers.every((pid) => !(pid > 1 && isWrapper(pid))), 10_000).catch(() => undefined)
    await this.sandbox.cleanup()
    rmSync(this.tmp, {recursive: true, force: true, maxRetries: 5})
  }

  get logRoot(): string {
    return this.sandbox.logRoot
  }

  get tmuxSocket(): string {
    return this.sandbox.tmuxSocket
  }

  /** Log root of local jobs: $HOME/logs of the child's environment. */
  get localLogRoot(): string {
    return join(this.home, 'logs')
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: Record<string, string | undefined> = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.home, ...this.sandbox.env(), ...extra}
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key]
    return env as NodeJS.ProcessEnv
  }

  /** Start the CLI; the caller reads or kills the child. */
  spawn(args: readonly string[], options: RunOptions = {}): ChildProcess & {output: Promise<Result>; stdoutText: () => string; stderrText: () => string} {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? this.work, env: this.env(options.env), stdio: ['pipe', 'pipe', 'pipe']})
    this.children.add(child)
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.stdin!.on('error', () => {})
    child.stdin!.end(options.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    const output = new Promise<Result>((resolve) => {
      child.once('close', (code, signal) => {
        clearTimeout(timer)
        this.children.delete(child)
        resolve({code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8')})
      })
    })
    return Object.assign(child, {
      output,
      stdoutText: () => Buffer.concat(stdout).toString('utf8'),
      stderrText: () => Buffer.concat(stderr).toString('utf8'),
    })
  }

  /** Run the CLI to completion. */
  orch(args: readonly string[], options: RunOptions = {}): Promise<Result> {
    return this.spawn(args, options).output
  }

  /** `orch run NAME --where cloud -- ...argv`, expecting it to start. */
  async runCloud(name: string, argv: readonly string[], flags: readonly string[] = []): Promise<Result> {
    const result = await this.orch(['run', name, '--where', 'cloud', ...flags, '--', ...argv])
    if (result.code !== 0) throw new Error(`orch run ${name} exited ${String(result.code)}: ${result.stderr}`)
    return result
  }

  async list(args: readonly string[] = []): Promise<JobJson[]> {
    const result = await this.orch(['list', '--json', ...args])
    if (result.code !== 0) throw new Error(`orch list exited ${String(result.code)}: ${result.stderr}`)
    return JSON.parse(result.stdout) as JobJson[]
  }

  async job(name: string, args: readonly string[] = []): Promise<JobJson | undefined> {
    return (await this.list(args)).find((job) => job.name === name)
  }

  /** Poll `orch list --json` until the job is in one of `states`. */
  async waitForState(name: string, states: readonly string[], timeoutMs = 60_000, args: readonly string[] = []): Promise<JobJson> {
    const deadline = Date.now() + timeoutMs
    let last: JobJson | undefined
    for (;;) {
      last = await this.job(name, args)
      if (last && states.includes(last.state)) return last
      if (Date.now() > deadline) throw new Error(`${name} did not reach ${states.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
      await sleep(300)
    }
  }

  runLogPath(name: string, root = this.logRoot): string {
    return join(root, name, 'run.log')
  }

  readLog(name: string, root = this.logRoot): string {
    return readFileSync(this.runLogPath(name, root), 'utf8')
  }

  /** Wait (reading the file directly) until the job's run.log matches. */
  async waitForLog(name: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      let text = ''
      try {
        text = this.readLog(name)
      } catch {}
      if (pattern.test(text)) return text
      if (Date.now() > deadline) throw new Error(`run.log of ${name} did not match ${pattern} within ${timeoutMs} ms; it holds: ${JSON.stringify(text.slice(-500))}`)
      await sleep(100)
    }
  }

  /** Wait (on the file system) until the job has written its exit status; returns run.log. */
  async waitForExit(name: string, root = this.logRoot, timeoutMs = 60_000): Promise<string> {
    await waitUntil(`${name} to write its exit status`, () => existsSync(join(root, name, 'exit')), timeoutMs)
    return this.readLog(name, root)
  }

  /** The log root's entries, sorted, without the index's passing bookkeeping (see logRootEntries below). */
  logRootEntries(): string[] {
    return existsSync(this.logRoot) ? logRootEntries(this.logRoot) : []
  }

  /** tmux on the sandbox's socket, as the sandbox's host user. */
  tmux(args: readonly string[]): Promise<Result> {
    if (this.sandbox.user !== userInfo().username) return exec('runuser', ['-u', this.sandbox.user, '--', 'tmux', '-L', this.tmuxSocket, ...args], {env: tmuxEnv()})
    return exec('tmux', ['-L', this.tmuxSocket, ...args], {env: tmuxEnv()})
  }
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(stepMs)
  }
}

/** The last line of a text (ignoring one trailing newline). */
export function lastLine(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n')
  return lines[lines.length - 1] ?? ''
}

/** stderr as non-empty lines. */
export function stderrLines(result: Result): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() !== '')
}

/** Pids of every descendant of `pid` (read from /proc). */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = parents.get(ppid) ?? []
      list.push(Number(entry))
      parents.set(ppid, list)
    } catch {}
  }
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A live orch job wrapper (not a recycled pid). */
function isWrapper(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('orch-wrapper')
  } catch {
    return false
  }
}

/**
 * What is under a log root, sorted, without the index's passing bookkeeping: a listing files away
 * what it learned after its answer (job-lib.sh, index_later), so `.orch-index.lock` and
 * `.orch-index.new` come and go on their own for a moment after any list or status.
 */
export function logRootEntries(root: string): string[] {
  return readdirSync(root)
    .filter((entry) => entry !== '.orch-index.lock' && entry !== '.orch-index.new')
    .sort()
}
