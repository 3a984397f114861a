/**
 * A private, throw-away OpenSSH server for integration tests, benchmarks and
 * the demo: its own host key, client key, authorized_keys, known_hosts and
 * log root, all in one fresh temp dir, listening on 127.0.0.1 only.
 *
 * It never reads or writes the real ~/.ssh, ~/logs or crontab, and the tmux
 * socket it names (ORCH_TMUX_SOCKET, used with `tmux -L`) is unique, so the
 * user's default tmux server is never touched.
 *
 * Only node built-ins are used, so this stays cheap to import.
 */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {constants as fsConstants} from 'node:fs'
import {access, mkdir, mkdtemp, open, readFile, rm, stat, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export interface SandboxSshdOptions {
  /** Port to listen on; a random free port when omitted. */
  port?: number
  /** sshd binary; found via PATH, /usr/sbin, /usr/local/sbin, /sbin when omitted. */
  sshdPath?: string
  /** How long to wait for the SSH banner on each (re)start. Default 10 000 ms. */
  startTimeoutMs?: number
  /**
   * Log in as this existing host user instead of the current one (needs root: sshd switches to
   * it). Its real home directory is the sandbox's home (logs/ and .orch/ are made there, owned by
   * it), and tmux runs as it.
   */
  user?: string
  /** sshd's MaxSessions: channels one connection may have open at once. Default 50. */
  maxSessions?: number
  /**
   * Variables every session gets (sshd's own SetEnv), as a host's system profile would set them:
   * e.g. SLURM_CONF for a test cluster whose slurm.conf is not at its default place.
   */
  sessionEnv?: Record<string, string>
}

export interface SandboxSshd {
  /** Always '127.0.0.1'. */
  readonly host: string
  readonly port: number
  /** The only user this sshd logs in: options.user, else os.userInfo().username. */
  readonly user: string
  /** The temp dir holding everything (keys, config, sshd.log, home/). */
  readonly dir: string
  /** Private ed25519 client key (no passphrase, mode 0600). */
  readonly clientKeyPath: string
  /** `ssh-ed25519 AAAA…` text of the client key. */
  readonly clientPublicKey: string
  /** known_hosts file holding `[127.0.0.1]:PORT ssh-ed25519 AAAA…`. */
  readonly knownHostsPath: string
  /** `ssh-ed25519 AAAA…` text of the host key (no comment). */
  readonly hostPublicKey: string
  /** The full known_hosts line for this server. */
  readonly knownHostsLine: string
  /** `<dir>/home`: a stand-in home directory (the user's own home with options.user). */
  readonly home: string
  /** `<dir>/home/logs`: the job log root to pass as ORCH_LOG_ROOT. */
  readonly logRoot: string
  /** Unique tmux server name for `tmux -L` (ORCH_TMUX_SOCKET). */
  readonly tmuxSocket: string
  /** Where sshd's own log (-e, stderr) goes. */
  readonly sshdLogPath: string
  /** Pid of the listening sshd, or undefined when it is not running. */
  readonly pid: number | undefined
  readonly running: boolean
  /** orch configuration pointing at this sandbox. */
  env(): Record<string, string>
  /** OpenSSH client args reaching this server; append a remote command. */
  sshArgs(): string[]
  /** SIGTERM the listening sshd and wait for it to exit (SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>
  /** SIGKILL the listening sshd (a crash) and wait for it to exit; files are kept. */
  kill(): Promise<void>
  /** Start sshd again on the same port with the same keys; resolves once it serves the banner. */
  restart(): Promise<void>
  /** stop(), kill the sandbox tmux server, remove the temp dir. Idempotent. */
  cleanup(): Promise<void>
}

const HOST = '127.0.0.1'
const DEFAULT_START_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 5_000
const PORT_RETRIES = 5

/** Sandboxes still holding a live sshd, killed synchronously if the process exits without cleanup. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

interface ExecResult {
  code: number | null
  stdout: string
  stderr: string
  error?: Error & {code?: unknown}
}

function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(file, args, {env, timeout: 30_000, maxBuffer: 4 * 1024 * 1024}, (error, stdout, stderr) => {
      const err = error as (Error & {code?: unknown}) | null
      let code: number | null = 0
      if (err) code = typeof err.code === 'number' ? err.code : null
      resolve({code, stdout: String(stdout), stderr: String(stderr), ...(err ? {error: err} : {})})
    })
  })
}

async function runOrThrow(file: string, args: string[]): Promise<string> {
  const result = await run(file, args)
  if (result.code !== 0) {
    const why = result.error?.code === 'ENOENT' ? 'not found' : `exit ${String(result.code)}`
    throw new Error(`sandbox-sshd: \`${file} ${args.join(' ')}\` failed (${why}): ${result.stderr.trim()}`)
  }
  return result.stdout
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK)
    return (await stat(file)).isFile()
  } catch {
    return false
  }
}

/** sshd must be run by absolute path (it re-executes itself). */
async function findSshd(explicit?: string): Promise<string> {
  if (explicit) {
    const abs = path.resolve(explicit)
    if (await isExecutable(abs)) return abs
    throw new Error(`sandbox-sshd: sshd not executable at ${abs}`)
  }
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir || !path.isAbsolute(dir)) continue
    const candidate = path.join(dir, 'sshd')
    if (await isExecutable(candidate)) return candidate
  }
  throw new Error('sandbox-sshd: no sshd found on PATH, /usr/sbin, /usr/local/sbin or /sbin (install openssh-server)')
}

/** OpenSSH version as [major, minor], e.g. [9, 2]; undefined when it cannot be read. */
async function sshdVersion(sshd: string): Promise<[number, number] | undefined> {
  // `sshd -V` prints the version to stderr and exits (non-zero on older releases).
  const result = await run(sshd, ['-V'])
  const match = /OpenSSH_(\d+)\.(\d+)/.exec(result.stderr + result.stdout)
  if (!match?.[1] || !match[2]) return undefined
  return [Number(match[1]), Number(match[2])]
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('sandbox-sshd: could not get a free port'))))
    })
  })
}

/** One attempt: connect, read the first line, true when it is an SSH-2.0 banner. */
function probeBanner(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let buffer = ''
    let settled = false
    const socket = net.connect({host: HOST, port})
    const finish = (ok: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.includes('\n') || buffer.length >= 255) finish(buffer.startsWith('SSH-2.0'))
    })
    socket.on('error', () => finish(false))
    socket.on('close', () => finish(buffer.startsWith('SSH-2.0')))
  })
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit)
      resolve(false)
    }, timeoutMs)
    const onExit = () => {
      clearTimeout(timer)
      resolve(true)
    }
    child.once('exit', onExit)
  })
}

function knownHostsHost(port: number): string {
  return port === 22 ? HOST : `[${HOST}]:${port}`
}

function sshdConfig(p: {
  port: number
  hostKeyPath: string
  authorizedKeysPath: string
  pidFile: string
  disablePenalties: boolean
  maxSessions: number
  sessionEnv: Record<string, string>
}): string {
  const lines = [
    '# orch sandbox sshd (generated; private to this temp dir)',
    `ListenAddress ${HOST}`,
    `Port ${p.port}`,
    `HostKey ${p.hostKeyPath}`,
    `PidFile ${p.pidFile}`,
    `AuthorizedKeysFile ${p.authorizedKeysPath}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin yes',
    'UsePAM no',
    'StrictModes no',
    'PermitUserEnvironment no',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    `MaxSessions ${p.maxSessions}`,
    'MaxStartups 100',
    'MaxAuthTries 10',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
  ]
  // OpenSSH 9.8+ throttles sources that fail or drop connections; tests do that on purpose.
  if (p.disablePenalties) lines.push('PerSourcePenalties no')
  const setEnv = Object.entries(p.sessionEnv).map(([key, value]) => `"${key}=${value.replace(/["\\]/g, '\\$&')}"`)
  if (setEnv.length > 0) lines.push(`SetEnv ${setEnv.join(' ')}`)
  return lines.join('\n') + '\n'
}

/** Public key file text without its comment: `ssh-ed25519 AAAA…`. */
function keyTypeAndBlob(publicKeyFile: string): string {
  const [type, blob] = publicKeyFile.trim().split(/\s+/)
  if (!type || !blob) throw new Error(`sandbox-sshd: unreadable public key: ${publicKeyFile}`)
  return `${type} ${blob}`
}

/** As root, sshd insists on its privilege-separation dir (Debian: /run/sshd), normally made by the init script. */
async function ensurePrivsepDir(): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return
  try {
    await mkdir('/run/sshd', {recursive: true, mode: 0o755})
  } catch {
    // Not Debian-like or read-only /run: sshd's own error will say what it needs.
  }
}

class Sandbox implements SandboxSshd {
  readonly host = HOST
  readonly user: string
  readonly clientKeyPath: string
  readonly knownHostsPath: string
  readonly home: string
  readonly logRoot: string
  readonly tmuxSocket: string
  readonly sshdLogPath: string
  readonly configPath: string
  readonly pidFilePath: string
  port = 0
  clientPublicKey = ''
  hostPublicKey = ''
  private child: ChildProcess | undefined
  private cleaned = false
  private configTemplate: ((port: number) => string) | undefined

  constructor(
    readonly dir: string,
    private readonly sshdPath: string,
    private readonly startTimeoutMs: number,
    private readonly account?: {name: string; uid: number; gid: number; home: string},
    private readonly maxSessions = 50,
    private readonly sessionEnv: Record<string, string> = {},
  ) {
    this.user = account?.name ?? os.userInfo().username
    this.clientKeyPath = path.join(dir, 'client_ed25519')
    this.knownHostsPath = path.join(dir, 'known_hosts')
    this.configPath = path.join(dir, 'sshd_config')
    this.sshdLogPath = path.join(dir, 'sshd.log')
    this.pidFilePath = path.join(dir, 'sshd.pid')
    this.home = account?.home ?? path.join(dir, 'home')
    this.logRoot = path.join(this.home, 'logs')
    this.tmuxSocket = `orch-test-${randomBytes(6).toString('hex')}`
  }

  get knownHostsLine(): string {
    return `${knownHostsHost(this.port)} ${this.hostPublicKey}`
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined
  }

  get running(): boolean {
    const child = this.child
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }

  env(): Record<string, string> {
    return {
      ORCH_HOST: this.host,
      ORCH_PORT: String(this.port),
      ORCH_USER: this.user,
      ORCH_SSH_KEY: this.clientKeyPath,
      ORCH_KNOWN_HOSTS: this.knownHostsPath,
      ORCH_LOG_ROOT: this.logRoot,
      ORCH_TMUX_SOCKET: this.tmuxSocket,
      // orch's own files on the host (tools, autostop state) stay in the sandbox too.
      ORCH_HOST_DIR: `${this.home}/.orch`,
    }
  }

  sshArgs(): string[] {
    return [
      '-F', '/dev/null', // ignore ~/.ssh/config and /etc/ssh/ssh_config (ControlMaster etc.)
      '-p', String(this.port),
      '-i', this.clientKeyPath,
      '-o', `UserKnownHostsFile=${this.knownHostsPath}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'LogLevel=ERROR',
      `${this.user}@${this.host}`,
    ]
  }

  async prepare(disablePenalties: boolean): Promise<void> {
    const hostKeyPath = path.join(this.dir, 'ssh_host_ed25519_key')
    const authorizedKeysPath = path.join(this.dir, 'authorized_keys')
    await Promise.all([
      runOrThrow('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'orch-sandbox-host', '-f', hostKeyPath]),
      runOrThrow('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'orch-sandbox-client', '-f', this.clientKeyPath]),
      mkdir(this.logRoot, {recursive: true}),
    ])
    this.hostPublicKey = keyTypeAndBlob(await readFile(`${hostKeyPath}.pub`, 'utf8'))
    this.clientPublicKey = keyTypeAndBlob(await readFile(`${this.clientKeyPath}.pub`, 'utf8'))
    await writeFile(authorizedKeysPath, `${this.clientPublicKey} orch-sandbox-client\n`, {mode: 0o600})
    if (this.account) {
      // sshd reads authorized_keys as the user; the private client key stays 0600.
      const {chmod, chown} = await import('node:fs/promises')
      await chmod(this.dir, 0o711)
      await chmod(authorizedKeysPath, 0o644)
      for (const made of [this.home, this.logRoot]) await chown(made, this.account.uid, this.account.gid)
    }
    this.configTemplate = (port: number) =>
      sshdConfig({
        port,
        hostKeyPath,
        authorizedKeysPath,
        pidFile: this.pidFilePath,
        disablePenalties,
        maxSessions: this.maxSessions,
        sessionEnv: this.sessionEnv,
      })
  }

  /** Writes config + known_hosts for `port`, spawns sshd and waits for its banner. */
  async startOn(port: number): Promise<void> {
    if (this.cleaned) throw new Error('sandbox-sshd: already cleaned up')
    if (this.running) throw new Error(`sandbox-sshd: already running (pid ${String(this.child?.pid)})`)
    if (!this.configTemplate) throw new Error('sandbox-sshd: not prepared')
    this.port = port
    await writeFile(this.configPath, this.configTemplate(port), {mode: 0o600})
    await writeFile(this.knownHostsPath, `${this.knownHostsLine}\n`, {mode: 0o600})
    await ensurePrivsepDir()

    await rm(this.pidFilePath, {force: true})
    const log = await open(this.sshdLogPath, 'a')
    const logOffset = (await log.stat()).size
    let child: ChildProcess
    try {
      // stderr goes to a file, not a pipe: per-connection sshd children inherit it and may outlive
      // the listener (kill()), and a pipe would then either break them or keep this process alive.
      child = spawn(this.sshdPath, ['-D', '-e', '-f', this.configPath], {
        stdio: ['ignore', 'ignore', log.fd],
        cwd: this.dir,
        env: {...process.env},
      })
    } finally {
      await log.close()
    }
    let spawnError: Error | undefined
    child.once('error', (err) => {
      spawnError = err
    })
    this.child = child
    live.add(child)
    installExitHook()
    child.once('exit', () => live.delete(child))

    const deadline = Date.now() + this.startTimeoutMs
    for (;;) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        await waitForExit(child, 1_000)
        const how = spawnError
          ? `could not be spawned (${spawnError.message})`
          : `exited (${child.signalCode ?? `code ${String(child.exitCode)}`})`
        throw new SandboxStartError(
          `sandbox-sshd: ${this.sshdPath} ${how} before accepting connections on ${HOST}:${port}`,
          await this.logSince(logOffset),
        )
      }
      // The pid file is written only after sshd has bound the port, so a banner seen before it
      // (or with another pid in it) may come from someone else already listening there.
      if (
        (await this.pidFileHolds(child.pid)) &&
        (await probeBanner(port, Math.min(1_000, Math.max(100, deadline - Date.now()))))
      )
        return
      if (Date.now() >= deadline) {
        await this.terminate('SIGKILL', 2_000)
        throw new SandboxStartError(
          `sandbox-sshd: ${this.sshdPath} did not serve an SSH-2.0 banner on ${HOST}:${port} within ${this.startTimeoutMs} ms`,
          await this.logSince(logOffset),
        )
      }
      await delay(50)
    }
  }

  private async pidFileHolds(pid: number | undefined): Promise<boolean> {
    if (pid === undefined) return false
    try {
      return (await readFile(this.pidFilePath, 'utf8')).trim() === String(pid)
    } catch {
      return false
    }
  }

  private async logSince(offset: number): Promise<string> {
    try {
      const text = (await readFile(this.sshdLogPath)).subarray(offset).toString('utf8').trim()
      return text.length > 8_000 ? `…${text.slice(-8_000)}` : text
    } catch {
      return ''
    }
  }

  private async terminate(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    try {
      child.kill(signal)
    } catch {
      // gone already
    }
    if (await waitForExit(child, graceMs)) return
    child.kill('SIGKILL')
    await waitForExit(child, 5_000)
  }

  stop(): Promise<void> {
    return this.terminate('SIGTERM', STOP_GRACE_MS)
  }

  kill(): Promise<void> {
    return this.terminate('SIGKILL', 5_000)
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.startOn(this.port)
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return
    await this.stop()
    this.cleaned = true
    await killTmuxServer(this.tmuxSocket, this.account)
    await rm(this.dir, {recursive: true, force: true})
    if (this.account) {
      await rm(this.logRoot, {recursive: true, force: true})
      await rm(path.join(this.home, '.orch'), {recursive: true, force: true})
    }
  }
}

/** Error thrown when sshd does not come up; `sshdStderr` holds what sshd printed. */
export class SandboxStartError extends Error {
  constructor(
    message: string,
    readonly sshdStderr: string,
  ) {
    super(sshdStderr ? `${message}\n--- sshd stderr ---\n${sshdStderr}` : `${message} (sshd printed nothing)`)
    this.name = 'SandboxStartError'
  }
}

/**
 * `tmux -L name kill-server`, ignoring every error (no server, no tmux), then removes the socket
 * file, which tmux 3.3 leaves behind. SSH sessions start tmux without TMUX_TMPDIR, so when ours
 * is set both socket dirs are covered.
 */
async function killTmuxServer(socketName: string, account?: {name: string; uid: number}): Promise<void> {
  if (account) {
    await run('runuser', ['-u', account.name, '--', 'tmux', '-L', socketName, 'kill-server'], {PATH: process.env.PATH ?? '/usr/bin:/bin'})
    await rm(path.join('/tmp', `tmux-${account.uid}`, socketName), {force: true})
    return
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined
  const dirs = new Set<string | undefined>([undefined])
  if (process.env.TMUX_TMPDIR) dirs.add(process.env.TMUX_TMPDIR)
  for (const tmpdir of dirs) {
    const env: NodeJS.ProcessEnv = {...process.env}
    delete env.TMUX
    if (tmpdir === undefined) delete env.TMUX_TMPDIR
    await run('tmux', ['-L', socketName, 'kill-server'], env)
    if (uid === undefined) continue
    const socketPath = path.join(tmpdir ?? '/tmp', `tmux-${uid}`, socketName)
    try {
      if ((await stat(socketPath)).isSocket()) await rm(socketPath, {force: true})
    } catch {
      // no socket file
    }
  }
}

/** An existing user's passwd entry (getent), for logging in as someone else than this process. */
async function lookupUser(name: string): Promise<{name: string; uid: number; gid: number; home: string}> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) throw new Error(`sandbox-sshd: logging in as ${name} needs root`)
  const entry = (await runOrThrow('getent', ['passwd', name])).trim().split(':')
  const [uid, gid, home] = [Number(entry[2]), Number(entry[3]), entry[5]]
  if (!home || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`sandbox-sshd: unreadable passwd entry for ${name}`)
  return {name, uid, gid, home}
}

/**
 * Starts a private sshd on 127.0.0.1 (a random free port unless `options.port`), as the current
 * user, with fresh keys in a fresh temp dir. Resolves once the server serves its SSH-2.0 banner.
 * Call `cleanup()` when done.
 */
export async function startSandboxSshd(options: SandboxSshdOptions = {}): Promise<SandboxSshd> {
  const sshdPath = await findSshd(options.sshdPath)
  const version = await sshdVersion(sshdPath)
  const disablePenalties = version !== undefined && (version[0] > 9 || (version[0] === 9 && version[1] >= 8))
  const account = options.user === undefined ? undefined : await lookupUser(options.user)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'orch-sshd-'))
  const sandbox = new Sandbox(dir, sshdPath, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, account, options.maxSessions, options.sessionEnv)
  try {
    await sandbox.prepare(disablePenalties)
    if (options.port !== undefined) {
      await sandbox.startOn(options.port)
      return sandbox
    }
    // A port found free can be taken before sshd binds it; retry with another one.
    for (let attempt = 1; ; attempt++) {
      try {
        await sandbox.startOn(await freePort())
        return sandbox
      } catch (err) {
        const bindFailure =
          err instanceof SandboxStartError && /Address already in use|Cannot bind any address/i.test(err.sshdStderr)
        if (!bindFailure || attempt >= PORT_RETRIES) throw err
      }
    }
  } catch (err) {
    await sandbox.cleanup().catch(() => undefined)
    throw err
  }
}
