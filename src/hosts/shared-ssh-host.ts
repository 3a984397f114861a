/**
 * One SSH connection kept by a long-lived orch process (the MCP server) and shared by every call it
 * serves at once: what the connection holder (holder-main.ts) does for separate commands, done in
 * the process itself, so it ends with that process and leaves nothing running behind it.
 *
 * - The connection opens once, on first use, however many calls arrive together.
 * - Its channels are shared by the rule of channel-pool.ts (the holder's too): at most as many at
 *   once as the server takes, the rest waiting their turn; a script with no input, or with bytes a
 *   here-document can carry (orch run's job files), runs on a kept shell when one is free (a fork
 *   on the host, not a session).
 * - A connection that closed (the server restarted, the network dropped) is opened again by the
 *   next script; a script that was running on it fails as over any connection (TransportError).
 */
import {OrchError} from '../errors/errors.js'
import {ChannelPool} from './channel-pool.js'
import type {ForegroundOptions, Host, ScriptResult, ScriptRun, StreamHandlers} from './host.js'
import {TransportError, collectStream} from './host.js'
import {hostToken} from './known-hosts.js'
import type {SshTarget} from './ssh-config.js'
import type {SshHost} from './ssh-host.js'

/** Shells kept for scripts with no input or small input (status, list, logs pages, run): a call then costs a fork. */
const MAX_SHELLS = 2

export class SharedSshHost implements Host {
  readonly kind = 'ssh' as const
  readonly label: string
  private ssh?: SshHost
  private opening?: Promise<SshHost>
  private readonly pool = new ChannelPool(MAX_SHELLS)
  private closed = false

  constructor(private readonly target: SshTarget) {
    this.label = `${target.user}@${hostToken(target.host, target.port)}`
  }

  run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    return collectStream((text, opts) => this.stream(text, opts), script, options)
  }

  stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    return this.pool.run(() => this.connection(), script, options)
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
    this.pool.reset()
    void ssh?.close()
  }
}
