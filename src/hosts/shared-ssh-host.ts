/**
 * One SSH connection kept by a long-lived orch process (the MCP server) and shared by every call it
 * serves at once: what the connection holder (holder-main.ts) does for separate commands, done in
 * the process itself, so it ends with that process and leaves nothing running behind it.
 *
 * - The connection opens once, on first use, however many calls arrive together.
 * - At most `limit` channels are open at once (10, OpenSSH's default MaxSessions); a channel the
 *   server refuses while others are open lowers the limit, and the script waits its turn.
 * - A connection that closed (the server restarted, the network dropped) is opened again by the
 *   next script; a script that was running on it fails as over any connection (TransportError).
 */
import {OrchError} from '../errors/errors.js'
import type {ForegroundOptions, Host, ScriptResult, ScriptRun, StreamHandlers} from './host.js'
import {TransportError, collectStream} from './host.js'
import {hostToken} from './known-hosts.js'
import type {SshTarget} from './ssh-config.js'
import type {SshHost} from './ssh-host.js'

const INITIAL_LIMIT = 10
const REFUSED_CHANNEL = /channel open failure|open failed|administratively prohibited/i

export class SharedSshHost implements Host {
  readonly kind = 'ssh' as const
  readonly label: string
  private ssh?: SshHost
  private opening?: Promise<SshHost>
  private channels = 0
  private limit = INITIAL_LIMIT
  private waiting: (() => void)[] = []
  private closed = false

  constructor(private readonly target: SshTarget) {
    this.label = `${target.user}@${hostToken(target.host, target.port)}`
  }

  run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    return collectStream((text, opts) => this.stream(text, opts), script, options)
  }

  async stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    for (;;) {
      const ssh = await this.connection()
      await this.acquire()
      let started = false
      try {
        return await ssh.stream(script, {...options, onStarted: () => ((started = true), options.onStarted?.())})
      } catch (error) {
        if (!started && error instanceof TransportError && REFUSED_CHANNEL.test(error.message) && this.channels > 1) {
          this.limit = Math.max(1, this.channels - 1)
          continue
        }
        throw error
      } finally {
        this.release()
      }
    }
  }

  async interactive(argv: readonly string[]): Promise<number> {
    return (await this.connection()).interactive(argv)
  }

  async foreground(_argv: readonly string[], _options?: ForegroundOptions): Promise<number> {
    throw new OrchError('internal', `a job cannot run in the foreground on ${this.label}`, 'cloud jobs run in tmux; please report this')
  }

  /** A follower that lost the connection: the next script opens a new one. */
  async reconnect(): Promise<void> {
    this.drop()
    await this.connection()
  }

  /** Ends the connection for good (the process is ending). */
  async close(): Promise<void> {
    this.closed = true
    this.drop()
  }

  private connection(): Promise<SshHost> {
    if (this.closed) return Promise.reject(new TransportError(`the connection to ${this.label} was closed`))
    if (this.ssh) return Promise.resolve(this.ssh)
    this.opening ??= (async () => {
      const {SshHost} = await import('./ssh-host.js')
      const ssh = new SshHost(this.target)
      try {
        await ssh.open()
      } finally {
        this.opening = undefined
      }
      if (this.closed) {
        await ssh.close()
        throw new TransportError(`the connection to ${this.label} was closed`)
      }
      this.ssh = ssh
      ssh.onConnectionClose(() => {
        if (this.ssh === ssh) this.ssh = undefined
      })
      return ssh
    })()
    return this.opening
  }

  private drop(): void {
    const ssh = this.ssh
    this.ssh = undefined
    void ssh?.close()
  }

  private acquire(): Promise<void> {
    if (this.channels < this.limit) {
      this.channels++
      return Promise.resolve()
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.channels++
        resolve()
      }),
    )
  }

  private release(): void {
    this.channels--
    while (this.channels < this.limit && this.waiting.length > 0) this.waiting.shift()!()
  }
}
