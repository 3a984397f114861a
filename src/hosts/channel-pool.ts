/**
 * The channels of one SSH connection, shared by the scripts that run on it at once: one rule for the
 * connection holder (holder-main.ts, separate commands) and for a long-lived process's own
 * connection (shared-ssh-host.ts, orch mcp).
 *
 * - At most `limit` channels at once (10, OpenSSH's default MaxSessions). A channel the server
 *   refuses while others are open lowers the limit to what it took, and the script waits its turn.
 * - A script over the limit waits, first come first served. A caller may give up waiting
 *   (`WaitPolicy`): the holder hands a script back when no channel has come free for a while.
 * - A script with no input, or with bytes a here-document can carry (keptShellCanTake: small, no
 *   NUL), runs on a kept shell (kept-shell.ts) when one is idle or can be started: a call then costs the host a fork, not a session. Up to `maxShells`
 *   are kept, each holding one channel, never one a script is waiting for nor the last one the
 *   limit allows.
 */
import type {ScriptRun, StreamHandlers} from './host.js'
import {TransportError} from './host.js'
import {KeptShell, ShellNotStarted, keptShellCanTake} from './kept-shell.js'
import type {SshHost} from './ssh-host.js'

const INITIAL_LIMIT = 10
const REFUSED_CHANNEL = /channel open failure|open failed|administratively prohibited/i

/** How long a script waits for a channel: `giveUp(since)` is asked every second, when `tick` runs too. */
export interface WaitPolicy {
  tick?: () => void
  giveUp?: (waitingSince: number) => boolean
}

/** No channel came free before the caller's WaitPolicy gave up: the script did not start. */
export class NoFreeChannel extends TransportError {}

export class ChannelPool {
  /** Channels counted against the limit (opening or open), and those the server accepted. */
  private channels = 0
  private open = 0
  private limit = INITIAL_LIMIT
  /** When a channel last came free: a queue that moves is waited on. */
  private lastRelease = 0
  private waiting: Array<() => void> = []
  private shells: KeptShell[] = []
  /** The server took no kept shell (MaxSessions): scripts run on channels of their own. */
  private shellsRefused = false

  constructor(private readonly maxShells: number) {}

  /** Runs `script` on the connection `connect` gives (opened on first use, or again after it dropped). */
  async run(connect: () => Promise<SshHost>, script: string, run: ScriptRun & StreamHandlers, wait: WaitPolicy = {}): Promise<number> {
    // No input, or bytes a here-document can pass (keptShellCanTake): a kept shell may run it.
    const given = run.input
    const shellInput = given === undefined ? undefined : typeof given === 'string' ? Buffer.from(given) : Buffer.isBuffer(given) ? given : null
    if (shellInput === undefined || (shellInput !== null && keptShellCanTake(shellInput))) {
      const shell = await this.freeShell(connect)
      if (shell) {
        try {
          return await shell.run(script, {...run, input: shellInput})
        } catch (error) {
          if (!(error instanceof ShellNotStarted)) throw error
          // The server took no more sessions: nothing ran; the script takes a channel of its own,
          // where the limit is learnt.
          this.shellsRefused = true
        } finally {
          // A script waiting for a channel gets this shell's, if it is idle now.
          this.trimShells()
        }
      }
    }
    for (;;) {
      const ssh = await connect()
      if (!(await this.take(wait))) throw new NoFreeChannel('no free channel on the held connection')
      let started = false
      try {
        return await ssh.stream(script, {
          ...run,
          onStarted: () => {
            started = true
            this.open++
            run.onStarted?.()
          },
        })
      } catch (error) {
        if (!started && error instanceof TransportError && REFUSED_CHANNEL.test(error.message) && this.open > 0) {
          // The server holds what is open now and no more (MaxSessions): wait for one of them.
          this.limit = this.open
          this.trimShells()
          continue
        }
        throw error
      } finally {
        if (started) this.open--
        this.release()
      }
    }
  }

  /** The connection is gone: its shells with it, and the next one may take shells again. */
  reset(): void {
    for (const shell of this.shells) shell.close()
    this.shells = []
    this.shellsRefused = false
  }

  /** A kept shell claimed for one script: an idle one, or one started when a channel is to spare. */
  private async freeShell(connect: () => Promise<SshHost>): Promise<KeptShell | undefined> {
    const claim = () => this.shells.find((shell) => shell.claim())
    const room = () => !this.shellsRefused && this.waiting.length === 0 && this.shells.length < this.maxShells && this.channels + 1 < this.limit
    if (!room()) return claim()
    const ssh = await connect()
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

  private take(wait: WaitPolicy): Promise<boolean> {
    if (this.channels < this.limit) {
      this.channels++
      return Promise.resolve(true)
    }
    return new Promise<boolean>((resolve) => {
      const since = Date.now()
      const polled = wait.tick !== undefined || wait.giveUp !== undefined
      const timer = polled
        ? setInterval(() => {
            if (wait.giveUp?.(Math.max(since, this.lastRelease))) {
              clearInterval(timer)
              this.waiting = this.waiting.filter((waiter) => waiter !== turn)
              resolve(false)
            } else wait.tick?.()
          }, 1000)
        : undefined
      const turn = () => {
        clearInterval(timer)
        this.channels++
        resolve(true)
      }
      wait.tick?.()
      this.waiting.push(turn)
      this.trimShells()
    })
  }

  private release(): void {
    this.lastRelease = Date.now()
    this.channels--
    this.trimShells()
    while (this.channels < this.limit && this.waiting.length > 0) this.waiting.shift()!()
  }

  /** Kept shells never hold a channel a script is waiting for, nor one beyond the limit. */
  private trimShells(): void {
    for (const shell of [...this.shells]) {
      if (this.shells.length < this.limit && this.waiting.length === 0) return
      if (shell.idle) shell.close()
    }
  }
}
