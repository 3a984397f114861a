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
 * - A script that takes no input runs on a kept shell (kept-shell.ts) when one is free, instead of
 *   on a channel of its own: a call then costs the host a fork, not a session. Up to MAX_SHELLS
 *   are kept, each holding one channel, always leaving one for other scripts.
 */
import {OrchError} from '../errors/errors.js'
import {KeptShell, ShellNotStarted} from './kept-shell.js'
import type {ForegroundOptions, Host, ScriptResult, ScriptRun, StreamHandlers} from './host.js'
import {TransportError, collectStream} from './host.js'
import {hostToken} from './known-hosts.js'
import type {SshTarget} from './ssh-config.js'
import type {SshHost} from './ssh-host.js'

const INITIAL_LIMIT = 10
const MAX_SHELLS = 2
const REFUSED_CHANNEL = /channel open failure|open failed|administratively prohibited/i

export class SharedSshHost implements Host {
  readonly kind = 'ssh' as const
  readonly label: string
  private ssh?: SshHost
  private opening?: Promise<SshHost>
  /** Channels counted against the limit (opening or open), and those the server accepted. */
  private channels = 0
  private open = 0
  private limit = INITIAL_LIMIT
  private waiting: (() => void)[] = []
  private closed = false
  private shells: KeptShell[] = []
  private shellsRefused = false

  constructor(private readonly target: SshTarget) {
    this.label = `${target.user}@${hostToken(target.host, target.port)}`
  }

  run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    return collectStream((text, opts) => this.stream(text, opts), script, options)
  }

  async stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    if (options.input === undefined) {
      const shell = await this.freeShell()
      if (shell) {
        try {
          return await shell.run(script, options)
        } catch (error) {
          if (!(error instanceof ShellNotStarted)) throw error
          // The server took no more sessions: no shells on this connection; the script runs on a
          // channel of its own, where the limit is learnt.
          this.shellsRefused = true
        } finally {
          // A script waiting for a channel gets this shell's, if it is idle now.
          this.trimShells()
        }
      }
    }
    for (;;) {
      const ssh = await this.connection()
      await this.acquire()
      let started = false
      try {
        return await ssh.stream(script, {
          ...options,
          onStarted: () => {
            started = true
            this.open++
            options.onStarted?.()
          },
        })
      } catch (error) {
        if (!started && error instanceof TransportError && REFUSED_CHANNEL.test(error.message) && this.open > 0) {
          // The server holds what is open now and no more (MaxSessions): wait for one of them.
          this.lowerLimit(this.open)
          continue
        }
        throw error
      } finally {
        if (started) this.open--
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
    this.shellsRefused = false
    for (const shell of this.shells) shell.close()
    this.shells = []
    void ssh?.close()
  }

  /** A kept shell claimed for one script, started when none is idle and a channel is free; undefined when all are busy. */
  private async freeShell(): Promise<KeptShell | undefined> {
    const claim = () => this.shells.find((shell) => shell.claim())
    const room = () => !this.shellsRefused && this.waiting.length === 0 && this.shells.length < MAX_SHELLS && this.channels + 1 < this.limit
    if (!room()) return claim()
    const ssh = await this.connection()
    const idle = claim()
    if (idle || !room()) return idle
    this.channels++
    const shell = new KeptShell(
      ssh,
      () => void this.open++,
      (opened) => {
        this.shells = this.shells.filter((kept) => kept !== shell)
        if (opened) this.open--
        this.release()
      },
    )
    this.shells.push(shell)
    shell.claim()
    return shell
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
    this.trimShells()
    while (this.channels < this.limit && this.waiting.length > 0) this.waiting.shift()!()
  }

  private lowerLimit(to: number): void {
    this.limit = Math.max(1, to)
    this.trimShells()
  }

  /** Kept shells never take a channel a script is waiting for, nor the last one the limit allows. */
  private trimShells(): void {
    for (const shell of [...this.shells]) {
      if (this.shells.length < this.limit && this.waiting.length === 0) return
      if (shell.idle) shell.close()
    }
  }
}
