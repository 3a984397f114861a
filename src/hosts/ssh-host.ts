import type {Duplex} from 'node:stream'
import type {Client, ClientChannel, ConnectConfig, PseudoTtyOptions} from 'ssh2'

type HostKeyAlgorithms = NonNullable<ConnectConfig['algorithms']>['serverHostKey']

import {OrchError} from '../errors/errors.js'
import type {ForegroundOptions, Host, ScriptResult, ScriptRun, StreamHandlers} from './host.js'
import {TransportError, collectStream, isStreamInput} from './host.js'
import {appendKnownHost, hostToken, judgeHostKey, preferredHostKeyAlgorithms, readKnownHosts} from './known-hosts.js'
import {type Envelope, LOGIN_COMMAND, MarkerGate, envelope} from './script-envelope.js'
import {type AuthRecord, authenticator, describeTried} from './ssh-auth.js'
import {type SshTarget, hopOptions, resolveSshTarget, unknownNameError} from './ssh-config.js'
import {type ProxyProcess, forwardOut, startProxyCommand} from './ssh-proxy.js'

export type {SshTarget} from './ssh-config.js'

type Ssh2 = typeof import('ssh2')
let ssh2Module: Promise<Ssh2> | undefined
// ssh2 is loaded on first use only: `orch route` and local jobs never pay for it.
const loadSsh2 = () => (ssh2Module ??= import('ssh2').then((m) => ((m as {default?: Ssh2}).default ?? m) as Ssh2))

/** Starts loading ssh2 now (e.g. while `ssh -G` runs), so the first connection does not wait for it. */
export function preloadSsh2(): void {
  void loadSsh2().catch(() => {})
}

/** A host reached over one SSH connection, reused for every script of a command. */
export class SshHost implements Host {
  readonly kind = 'ssh' as const
  readonly label: string
  private client?: Client
  /** ProxyJump hops under the current connection, outermost first. */
  private hops: Client[] = []
  /** A passphrase was typed on the terminal for this connection (a holder could not repeat it). */
  passphraseAsked = false

  constructor(private readonly target: SshTarget) {
    this.label = `${target.user}@${hostToken(target.host, target.port)}`
  }

  private async connection(): Promise<Client> {
    this.client ??= await this.connect()
    return this.client
  }

  private async connect(): Promise<Client> {
    const hops: Client[] = []
    try {
      const client = await openClient(this.target, hops, this)
      this.hops = hops
      return client
    } catch (error) {
      for (const hop of hops.reverse()) hop.end()
      throw error
    }
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
    // Aborted while the channel opened: the script never starts (its envelope is not sent).
    if ((options as StreamHandlers).signal?.aborted) {
      channel.close()
      throw new TransportError('aborted before the script started')
    }
    ;(options as StreamHandlers).onStarted?.()
    channel.write(sent.text)
    return {channel, sent}
  }

  run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    return collectStream((text, opts) => this.stream(text, opts), script, options)
  }

  async stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    const client = await this.connection()
    let opened: {channel: ClientChannel; sent: Envelope}
    try {
      opened = await this.exec(script, options)
    } catch (error) {
      if (options.signal?.aborted) return 130
      throw error
    }
    const {channel, sent} = opened
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
    this.endConnection()
    this.client = await this.connect()
  }

  /** Opens the connection now (verifying the host key and authenticating), if it is not open. */
  async open(): Promise<void> {
    await this.connection()
  }

  /** Calls `listener` once the open connection closes (dropped by the server or the network). */
  onConnectionClose(listener: () => void): void {
    if (!this.client) return listener()
    this.client.setMaxListeners(0)
    this.client.once('close', listener)
  }

  async close(): Promise<void> {
    this.endConnection()
  }

  private endConnection(): void {
    this.client?.end()
    this.client = undefined
    for (const hop of this.hops.reverse()) hop.end()
    this.hops = []
  }
}

const SIGNALS: Record<string, number> = {HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, PIPE: 13}
function signalNumber(signal: string): number {
  return SIGNALS[signal.replace(/^SIG/, '')] ?? 0
}

/** Where a target is, for messages: `host:port`, or the alias and its address. */
function describeWhere(target: SshTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`
}

function connectionError(error: Error & {level?: string; code?: string}, target: SshTarget, tried: AuthRecord): OrchError {
  const where = describeWhere(target)
  if (error.level === 'client-authentication') {
    return new OrchError(
      'connection',
      `authentication failed for ${target.user}@${where} (tried ${describeTried(tried)})`,
      'check ORCH_USER (or User), and that one of these keys is in the host\'s authorized_keys',
    )
  }
  switch (error.code) {
    case 'ECONNREFUSED':
      return new OrchError('connection', `connection refused by ${where}`, 'check ORCH_HOST and ORCH_PORT, and that sshd runs on the host (is the instance up? orch host status)')
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return unknownNameError(target)
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

/** An error met on a ProxyJump hop, named after the hop. */
function viaHop(error: unknown, hop: string, target: SshTarget): unknown {
  if (!(error instanceof OrchError) || error.message.startsWith('the ProxyJump hop')) return error
  const of = target.name ?? target.host
  const where = target.configFile ? ` in ${target.configFile}` : ''
  // A host-key refusal keeps its own advice; otherwise the hop is what to check.
  const hint = error.kind === 'hostKey' || error.kind === 'config' ? error.hint : `check the hop ${hop} (ProxyJump of ${of}${where}) and that its sshd is up`
  return new OrchError(error.kind, `the ProxyJump hop ${hop} of ${of}: ${error.message}`, hint)
}

const note = (line: string) => void process.stderr.write(`${line}\n`)

/**
 * Opens an authenticated connection to `target`: directly, through its ProxyCommand, or through
 * its ProxyJump hops (each opened here first, pushed onto `hops`, and verified like any host).
 */
async function openClient(target: SshTarget, hops: Client[], asked?: {passphraseAsked: boolean}): Promise<Client> {
  const ssh2 = await loadSsh2()
  let sock: Duplex | undefined
  let proxy: ProxyProcess | undefined
  if (target.proxyJump?.length) {
    const chain = [...target.proxyJump]
    const last = chain.pop()!
    const of = target.name ?? target.host
    let via: Client
    try {
      const hop = await resolveSshTarget(last, hopOptions(target.resolver ?? {defaultKnownHostsPath: target.knownHostsPath}, chain.length > 0 ? chain : undefined, of))
      via = await openClient(hop, hops, asked)
    } catch (error) {
      throw viaHop(error, last, target)
    }
    hops.push(via)
    sock = await forwardOut(via, target.host, target.port, last)
  } else if (target.proxyCommand) {
    proxy = startProxyCommand(target.proxyCommand)
    sock = proxy.socket
  }

  const {Client} = ssh2
  const client = new Client()
  const {host, port, user, knownHostsPath} = target
  // known_hosts is looked up under HostKeyAlias when there is one (no port), as OpenSSH does.
  const keyHost = target.hostKeyAlias ?? host
  const keyPort = target.hostKeyAlias ? 22 : port
  let auth
  try {
    auth = await authenticator(target, ssh2, {
      note,
      askPassphrase: async (path) => {
        // ssh2's ready timeout also runs during authentication; a person typing must not hit it.
        clearTimeout((client as unknown as {_readyTimeout?: NodeJS.Timeout})._readyTimeout)
        const answer = await askPassphrase(path)
        if (answer !== undefined && asked) asked.passphraseAsked = true
        return answer
      },
    })
  } catch (error) {
    proxy?.stop()
    throw error
  }
  const known = (await Promise.all([knownHostsPath, ...(target.otherKnownHostsPaths ?? [])].map((path) => readKnownHosts(path, keyHost, keyPort).catch(() => [])))).flat()
  let refusal: OrchError | undefined
  return new Promise<Client>((resolve, reject) => {
    const fail = (error: OrchError) => {
      client.removeAllListeners('ready')
      client.end()
      proxy?.stop()
      reject(error)
    }
    client.once('ready', () => {
      client.removeAllListeners('error')
      // A later transport failure must reach the command in progress, not crash the process.
      client.on('error', () => {})
      if (proxy) client.once('close', () => proxy!.stop())
      resolve(client)
    })
    client.once('error', (error: Error & {level?: string; code?: string}) => {
      if (refusal) return fail(refusal)
      if (!proxy || error.level === 'client-authentication') return fail(connectionError(error, target, auth.record))
      void proxy.exitReport().then((report) =>
        fail(
          new OrchError(
            'connection',
            `the ProxyCommand for ${target.name ?? host} ${report ?? `failed: ${error.message}`} before the SSH handshake`,
            `check ProxyCommand for ${target.name ?? host}${target.configFile ? ` in ${target.configFile}` : ''}`,
          ),
        ),
      )
    })
    client.connect({
      host,
      port,
      username: user,
      ...(sock ? {sock} : {}),
      authHandler: auth.handler,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      keepaliveInterval: target.keepaliveIntervalMs ?? 5000,
      keepaliveCountMax: target.keepaliveCountMax ?? 3,
      algorithms: {serverHostKey: preferredHostKeyAlgorithms(known) as HostKeyAlgorithms},
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        const verdict = judgeHostKey(known, key)
        const where = hostToken(keyHost, keyPort)
        switch (verdict.status) {
          case 'known':
            verify(true)
            return
          case 'unknown':
            if (target.acceptNewHostKey) {
              appendKnownHost(knownHostsPath, keyHost, keyPort, key).then(
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
              'if this fingerprint is right, accept it once with --accept-new-host-key or ORCH_ACCEPT_NEW_HOST_KEY=1 (or StrictHostKeyChecking accept-new)',
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
    // delayed ACK, one can stall ~40 ms. On a socket ssh2 opens itself (a direct connection;
    // through a jump host or ProxyCommand the stream is a channel or a pipe); applied on connect.
    if (!sock) client.setNoDelay(true)
  })
}

/** Asks on the terminal, without echo; the prompt stays on screen. Undefined without a terminal. */
async function askPassphrase(keyPath: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined
  const {createInterface} = await import('node:readline')
  const {Writable} = await import('node:stream')
  // readline writes nothing (no echo, and no redraw erasing the prompt written below).
  const silent = new Writable({write: (_chunk, _encoding, done) => done()})
  const rl = createInterface({input: process.stdin, output: silent, terminal: true})
  process.stderr.write(`Passphrase for ${keyPath}: `)
  return new Promise((resolve) => {
    let answered = false
    rl.once('line', (answer) => {
      answered = true
      rl.close()
      resolve(answer)
    })
    rl.once('close', () => {
      process.stderr.write('\n')
      if (!answered) resolve(undefined)
    })
    rl.once('SIGINT', () => {
      rl.close()
      process.kill(process.pid, 'SIGINT')
    })
  })
}
