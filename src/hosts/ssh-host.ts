import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {Client, ClientChannel, ConnectConfig, PseudoTtyOptions} from 'ssh2'

type HostKeyAlgorithms = NonNullable<ConnectConfig['algorithms']>['serverHostKey']

import {OrchError} from '../errors/errors.js'
import {registerSecret} from '../errors/redact.js'
import type {ForegroundOptions, Host, ScriptResult, ScriptRun, StreamHandlers} from './host.js'
import {TransportError, isStreamInput} from './host.js'
import {appendKnownHost, hostToken, judgeHostKey, preferredHostKeyAlgorithms, readKnownHosts} from './known-hosts.js'
import {type Envelope, LOGIN_COMMAND, MarkerGate, envelope} from './script-envelope.js'

export interface SshTarget {
  host: string
  port: number
  user: string
  keyPath?: string
  passphrase?: string
  knownHostsPath: string
  acceptNewHostKey: boolean
  /** Milliseconds to wait for the TCP connection and the handshake. */
  readyTimeoutMs?: number
}

type Ssh2 = typeof import('ssh2')
let ssh2Module: Promise<Ssh2> | undefined
// ssh2 is loaded on first use only: `orch route` and local jobs never pay for it.
const loadSsh2 = () => (ssh2Module ??= import('ssh2').then((m) => ((m as {default?: Ssh2}).default ?? m) as Ssh2))

/** A host reached over one SSH connection, reused for every script of a command. */
export class SshHost implements Host {
  readonly kind = 'ssh' as const
  readonly label: string
  private client?: Client
  private credentials?: Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent'>

  constructor(private readonly target: SshTarget) {
    this.label = `${target.user}@${hostToken(target.host, target.port)}`
  }

  private async connection(): Promise<Client> {
    this.client ??= await this.connect()
    return this.client
  }

  private async loadCredentials(): Promise<Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'agent'>> {
    if (this.credentials) return this.credentials
    const {utils} = await loadSsh2()
    const agent = process.env.SSH_AUTH_SOCK || undefined
    let keyPath = this.target.keyPath
    if (!keyPath && !agent) {
      keyPath = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(process.env.HOME || homedir(), '.ssh', name)).find((p) => existsSync(p))
    }
    if (!keyPath) {
      if (!agent) throw new OrchError('config', 'no SSH key: ORCH_SSH_KEY is not set and no ssh-agent is running', 'set ORCH_SSH_KEY to a private key file, or start ssh-agent and ssh-add a key')
      return (this.credentials = {agent})
    }
    let privateKey: Buffer
    try {
      privateKey = await readFile(keyPath)
    } catch {
      throw new OrchError('config', `cannot read the SSH key ${keyPath}`, 'check ORCH_SSH_KEY and the file\'s permissions')
    }
    let passphrase = this.target.passphrase
    let parsed = utils.parseKey(privateKey, passphrase)
    if (parsed instanceof Error && /passphrase|encrypted/i.test(parsed.message) && !passphrase) {
      passphrase = await askPassphrase(keyPath)
      parsed = utils.parseKey(privateKey, passphrase)
    }
    if (parsed instanceof Error) {
      throw new OrchError('config', `cannot use the SSH key ${keyPath}: ${parsed.message}`, passphrase ? 'check ORCH_SSH_PASSPHRASE' : 'check ORCH_SSH_KEY points at a private key')
    }
    registerSecret(passphrase)
    return (this.credentials = {privateKey, passphrase, agent})
  }

  private async connect(): Promise<Client> {
    const {Client} = await loadSsh2()
    const {host, port, user, knownHostsPath} = this.target
    const credentials = await this.loadCredentials()
    const known = await readKnownHosts(knownHostsPath, host, port)
    let refusal: OrchError | undefined
    const client = new Client()
    return new Promise<Client>((resolve, reject) => {
      const fail = (error: OrchError) => {
        client.removeAllListeners('ready')
        client.end()
        reject(error)
      }
      client.once('ready', () => {
        client.removeAllListeners('error')
        // A later transport failure must reach the command in progress, not crash the process.
        client.on('error', () => {})
        resolve(client)
      })
      client.once('error', (error: Error & {level?: string; code?: string}) => fail(refusal ?? connectionError(error, this.target)))
      client.connect({
        host,
        port,
        username: user,
        ...credentials,
        readyTimeout: this.target.readyTimeoutMs ?? 20_000,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        algorithms: {serverHostKey: preferredHostKeyAlgorithms(known) as HostKeyAlgorithms},
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          const verdict = judgeHostKey(known, key)
          const where = hostToken(host, port)
          switch (verdict.status) {
            case 'known':
              verify(true)
              return
            case 'unknown':
              if (this.target.acceptNewHostKey) {
                appendKnownHost(knownHostsPath, host, port, key).then(
                  () => verify(true),
                  () => {
                    refusal = new OrchError('hostKey', `cannot record the host key of ${where} in ${knownHostsPath}`, 'check that the file is writable')
                    verify(false)
                  },
                )
                return
              }
              refusal = new OrchError(
                'hostKey',
                `unknown host key for ${where}: ${verdict.keyType} ${verdict.fingerprint} (not in ${knownHostsPath})`,
                'if this fingerprint is right, accept it once with --accept-new-host-key or ORCH_ACCEPT_NEW_HOST_KEY=1',
              )
              verify(false)
              return
            case 'changed':
            case 'revoked':
              refusal = new OrchError(
                'hostKey',
                `host key for ${where} ${verdict.status === 'changed' ? 'has CHANGED' : 'is REVOKED'}: now ${verdict.keyType} ${verdict.fingerprint}; refusing to connect`,
                `if the host was rebuilt, remove its old line from ${knownHostsPath} (ssh-keygen -R '${where}' -f ${knownHostsPath}); otherwise someone may be intercepting the connection`,
              )
              verify(false)
          }
        },
      })
      // Each exchange is a small write awaiting a small reply: with Nagle's algorithm and the peer's
      // delayed ACK, one can stall ~40 ms. Applied when the socket connects.
      client.setNoDelay(true)
    })
  }

  /**
   * Start a script: the login shell gets LOGIN_COMMAND only, and the script with its arguments
   * follows on stdin (see script-envelope.ts). The caller writes `envelope.text` first, drops
   * output before `envelope.marker` and sends its own stdin data only after it.
   */
  private async exec(script: string, options: ScriptRun, pty?: PseudoTtyOptions): Promise<{channel: ClientChannel; sent: Envelope}> {
    const client = await this.connection()
    const sent = envelope(script, options.args ?? [])
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      const callback = (error: Error | undefined, channel: ClientChannel) => (error ? reject(new TransportError(error.message)) : resolve(channel))
      if (pty) client.exec(LOGIN_COMMAND, {pty}, callback)
      else client.exec(LOGIN_COMMAND, callback)
    })
    channel.write(sent.text)
    return {channel, sent}
  }

  async run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    const code = await this.stream(script, {...options, onStdout: (chunk) => void stdout.push(chunk), onStderr: (chunk) => stderr.push(chunk)})
    return {code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString()}
  }

  async stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    const client = await this.connection()
    const {channel, sent} = await this.exec(script, options)
    const out = new MarkerGate(sent.marker)
    const err = new MarkerGate(sent.marker)
    return new Promise<number>((resolve, reject) => {
      let exitCode: number | undefined
      let settled = false
      let pending = Promise.resolve()
      const input = options.input
      const finish = (outcome: () => void) => {
        if (settled) return
        settled = true
        // A stream input still producing when the script ended (or failed) is stopped.
        if (isStreamInput(input)) {
          input.unpipe(channel)
          if (!input.readableEnded) input.destroy()
        }
        client.removeListener('close', onClientClose)
        options.signal?.removeEventListener('abort', onAbort)
        outcome()
      }
      const onClientClose = () => finish(() => reject(new TransportError('the SSH connection closed')))
      const onAbort = () => {
        channel.close()
        finish(() => resolve(130))
      }
      client.once('close', onClientClose)
      options.signal?.addEventListener('abort', onAbort, {once: true})
      let inputSent = false
      const sendInput = () => {
        inputSent = true
        if (isStreamInput(input)) {
          input.on('error', () => channel.close())
          input.pipe(channel)
        } else channel.end(input ?? '')
      }
      channel.on('data', (raw: Buffer) => {
        const chunk = out.feed(raw)
        if (!inputSent && out.opened) sendInput()
        if (chunk.length === 0) return
        const result = options.onStdout(chunk)
        if (result instanceof Promise) {
          channel.pause()
          pending = result.then(() => void channel.resume())
        }
      })
      channel.stderr.on('data', (raw: Buffer) => {
        const chunk = err.feed(raw)
        if (chunk.length > 0) options.onStderr?.(chunk)
      })
      // A channel failing under us (connection reset, write after close) is a transport failure the
      // caller may retry, never an uncaught exception.
      channel.on('error', (error: Error) => finish(() => reject(new TransportError(error.message))))
      channel.on('exit', (code: number | null, signal?: string) => {
        exitCode = code ?? (signal ? 128 + signalNumber(signal) : 255)
      })
      channel.on('close', () => {
        // No marker: the script never ran (the login shell failed, or /bin/sh is missing); what the
        // shell said is the only clue, so it is passed on.
        if (!out.opened) {
          const said = `${err.unmatched()}${out.unmatched()}`.trim()
          if (said) options.onStderr?.(Buffer.from(`${said}\n`))
        }
        void pending.then(() => {
          if (exitCode === undefined) finish(() => reject(new TransportError('the SSH channel closed before the script finished')))
          else finish(() => resolve(exitCode!))
        })
      })
    })
  }

  /** Jobs on an SSH host run in tmux (see start-job.ts); none runs in the foreground of this terminal. */
  async foreground(_argv: readonly string[], _options?: ForegroundOptions): Promise<number> {
    throw new OrchError('internal', `a job cannot run in the foreground on ${this.label}`, 'cloud jobs run in tmux; please report this')
  }

  async interactive(argv: readonly string[]): Promise<number> {
    const stdin = process.stdin
    const stdout = process.stdout
    const {channel, sent} = await this.exec('exec "$@"', {args: argv}, {
      rows: stdout.rows || 24,
      cols: stdout.columns || 80,
      term: process.env.TERM || 'xterm-256color',
    })
    // On a pty the start-up files' output, the envelope's echo and /bin/sh's prompts all come before
    // the marker; keys typed meanwhile wait until the program runs.
    const gate = new MarkerGate(sent.marker)
    const onResize = () => channel.setWindow(stdout.rows || 24, stdout.columns || 80, 0, 0)
    const wasRaw = stdin.isTTY ? stdin.isRaw : false
    if (stdin.isTTY) stdin.setRawMode(true)
    stdout.on('resize', onResize)
    channel.on('data', (raw: Buffer) => {
      const wasOpen = gate.opened
      const chunk = gate.feed(raw)
      if (!wasOpen && gate.opened) stdin.pipe(channel)
      if (chunk.length > 0) stdout.write(chunk)
    })
    channel.stderr.pipe(process.stderr, {end: false})
    return new Promise<number>((resolve) => {
      let code = 0
      channel.on('exit', (exit: number | null) => (code = exit ?? 0))
      channel.on('close', () => {
        stdin.unpipe(channel)
        stdout.removeListener('resize', onResize)
        if (stdin.isTTY) stdin.setRawMode(wasRaw)
        stdin.pause()
        resolve(code)
      })
    })
  }

  async reconnect(): Promise<void> {
    this.client?.end()
    this.client = undefined
    this.client = await this.connect()
  }

  async close(): Promise<void> {
    this.client?.end()
    this.client = undefined
  }
}

const SIGNALS: Record<string, number> = {HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, PIPE: 13}
function signalNumber(signal: string): number {
  return SIGNALS[signal.replace(/^SIG/, '')] ?? 0
}

function connectionError(error: Error & {level?: string; code?: string}, target: SshTarget): OrchError {
  const where = `${target.host}:${target.port}`
  if (error.level === 'client-authentication') {
    return new OrchError('connection', `authentication failed for ${target.user}@${where}`, 'check ORCH_USER, and that ORCH_SSH_KEY (or a key in ssh-agent) is in the host\'s authorized_keys')
  }
  switch (error.code) {
    case 'ECONNREFUSED':
      return new OrchError('connection', `connection refused by ${where}`, 'check ORCH_HOST and ORCH_PORT, and that sshd runs on the host (is the instance up? orch host status)')
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OrchError('connection', `host name ${target.host} not found`, 'check ORCH_HOST (or the EC2 instance settings)')
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return new OrchError('connection', `host ${where} is unreachable`, 'check your network, ORCH_HOST and the host\'s security group')
  }
  if (error.level === 'client-timeout') {
    return new OrchError('connection', `timed out connecting to ${where}`, 'check that the host is up and its SSH port is open')
  }
  return new OrchError('connection', `SSH connection to ${where} failed: ${error.message}`, 'check ORCH_HOST, ORCH_PORT and ORCH_USER')
}

async function askPassphrase(keyPath: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new OrchError('config', `the SSH key ${keyPath} is encrypted`, 'set ORCH_SSH_PASSPHRASE, or add the key to ssh-agent')
  }
  const {createInterface} = await import('node:readline')
  const rl = createInterface({input: process.stdin, output: process.stderr, terminal: true})
  // Echo nothing while the passphrase is typed.
  const writer = rl as unknown as {_writeToOutput: (s: string) => void}
  process.stderr.write(`Passphrase for ${keyPath}: `)
  writer._writeToOutput = () => {}
  return new Promise((resolve) =>
    rl.question('', (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    }),
  )
}
