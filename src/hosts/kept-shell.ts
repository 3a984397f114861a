import {randomBytes} from 'node:crypto'
import {PassThrough} from 'node:stream'

import type {ScriptRun, StreamHandlers} from './host.js'
import {TransportError} from './host.js'
import type {SshHost} from './ssh-host.js'

/**
 * A /bin/sh kept running on one channel of an SSH connection, running scripts one after the other
 * for a long-lived process (orch mcp). Opening a session channel costs sshd a process and the
 * login shell's start (a third of a second on a busy host); a script sent to a shell already
 * running costs a fork. Each script runs exactly as over its own channel: `/bin/sh -c SCRIPT orch
 * ARGS…` (see script-envelope.ts), here with stdin from /dev/null, so only scripts that take no
 * input come here. After it, the shell prints an end line with the script's status on stdout and
 * one on stderr, marked with a nonce no output can guess.
 */
const SETUP = 'exec 3>&2 2> /dev/null\n'

export class KeptShell {
  private readonly input = new PassThrough()
  private readonly stop = new AbortController()
  private current?: Running
  private ended = false
  private endError?: Error
  /** The shell's channel opened: a script sent may have run. */
  private opened = false

  /** `onOpen`: its channel opened; `onEnd`: it ended (with whether it had opened). */
  constructor(ssh: SshHost, onOpen: () => void, onEnd: (opened: boolean) => void) {
    this.input.write(SETUP)
    void ssh
      .stream('exec /bin/sh -s', {
        input: this.input,
        signal: this.stop.signal,
        onStarted: () => {
          this.opened = true
          onOpen()
        },
        onStdout: (chunk) => this.current?.stdout(chunk),
        onStderr: (chunk) => void this.current?.stderr(chunk),
      })
      .then(
        () => this.end(new TransportError('the kept shell ended')),
        (error: unknown) => this.end(error instanceof Error ? error : new TransportError(String(error))),
      )
      .finally(() => onEnd(this.opened))
  }

  /** Taken by a caller about to run a script (between claim and the script's end). */
  private claimed = false

  get idle(): boolean {
    return !this.ended && !this.stop.signal.aborted && !this.claimed
  }

  /** Takes the shell for one script (run() must follow); false when it is not idle. */
  claim(): boolean {
    if (!this.idle) return false
    this.claimed = true
    return true
  }

  /**
   * Runs one script on the shell claimed for it; resolves with its exit status. Its input, if any,
   * is bytes that fit a here-document (keptShellCanTake): they reach the script's stdin exactly,
   * through `head -c`, whatever line the here-document ends with.
   */
  run(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    const given = options.input
    const input = given === undefined ? undefined : typeof given === 'string' ? Buffer.from(given) : Buffer.isBuffer(given) ? given : null
    if (input === null || (input !== undefined && !keptShellCanTake(input))) {
      this.claimed = false
      // A caller's mistake (channel-pool.ts sends only what keptShellCanTake passes), never the
      // server refusing a session: not ShellNotStarted, which would turn kept shells off.
      return Promise.reject(new TypeError('this input cannot go through a kept shell'))
    }
    if (this.ended || this.stop.signal.aborted) {
      this.claimed = false
      return Promise.reject(this.endError ?? new ShellNotStarted('the kept shell was closed'))
    }
    if (options.signal?.aborted) {
      this.claimed = false
      return Promise.resolve(130)
    }
    const nonce = randomBytes(12).toString('hex')
    const end = `ORCH_SCRIPT_${nonce}`
    const words = ['orch', ...(options.args ?? [])].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ')
    const marker = `ORCH-${nonce}-END`
    return new Promise<number>((resolve, reject) => {
      const running = new Running(marker, options, resolve, reject)
      this.current = running
      const onAbort = () => {
        // The script cannot be interrupted inside a shared shell: the shell goes with it.
        this.close()
        running.settle(() => resolve(130))
      }
      options.signal?.addEventListener('abort', onAbort, {once: true})
      running.onSettled = () => {
        options.signal?.removeEventListener('abort', onAbort)
        if (this.current === running) this.current = undefined
        this.claimed = false
      }
      options.onStarted?.()
      // fd 3 is the channel's stderr (SETUP); the script gets it as its fd 2 in its own process, so
      // what the kept shell itself says about it (dash's "Terminated" for a script killed by a
      // signal) goes to the kept shell's fd 2, /dev/null.
      const run = `/bin/sh -c 'exec 2>&3 3>&- && exec /bin/sh -c "$@"' orch "$orch_s" ${words}`
      const script_ = `orch_s=$(cat <<'${end}'\n${script}\n${end}\n)\n`
      const status = `; printf '${marker} %s\\n' "$?"; printf '${marker}\\n' >&3\n`
      if (input === undefined) {
        this.input.write(`${script_}${run} < /dev/null${status}`)
      } else {
        const data = `ORCH_INPUT_${nonce}`
        const newline = input.length > 0 && input[input.length - 1] === 0x0a ? '' : '\n'
        this.input.write(`${script_}head -c ${input.length} <<'${data}' | ${run}${status}`)
        this.input.write(input)
        this.input.write(`${newline}${data}\n`)
      }
    })
  }

  close(): void {
    this.stop.abort()
    this.input.end()
  }

  private end(error: Error): void {
    this.ended = true
    this.endError = this.opened ? error : new ShellNotStarted(error.message)
    const running = this.current
    running?.settle(() => running.fail(this.endError!))
  }
}

/** Input a kept shell can pass on (a here-document): bytes, small, with no NUL (the shell would drop it). */
export const KEPT_SHELL_MAX_INPUT = 1024 * 1024
export function keptShellCanTake(input: Buffer): boolean {
  return input.length <= KEPT_SHELL_MAX_INPUT && !input.includes(0)
}

/** The kept shell's channel never opened (e.g. the server refused one more session): nothing ran. */
export class ShellNotStarted extends TransportError {}

/** One script's run on a kept shell: its output up to the end lines, and its status. */
class Running {
  private out: Buffer = Buffer.alloc(0)
  private err: Buffer = Buffer.alloc(0)
  private status?: number
  private errDone = false
  private settled = false
  onSettled?: () => void

  constructor(
    private readonly marker: string,
    private readonly handlers: StreamHandlers,
    private readonly resolve: (code: number) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /** stdout: passed on as it comes, but for a tail that could be the start of the end line. */
  stdout(chunk: Buffer): void | Promise<void> {
    if (this.settled || this.status !== undefined) return
    this.out = this.out.length === 0 ? chunk : Buffer.concat([this.out, chunk])
    const line = new RegExp(`${this.marker} (\\d+)\\n`).exec(this.out.toString('latin1'))
    let pass: Buffer
    if (line) {
      pass = this.out.subarray(0, line.index)
      this.status = Number(line[1])
      this.out = Buffer.alloc(0)
    } else {
      const hold = heldBack(this.out, this.marker)
      pass = this.out.subarray(0, this.out.length - hold)
      this.out = this.out.subarray(this.out.length - hold)
    }
    const waited = pass.length > 0 ? this.handlers.onStdout(pass) : undefined
    if (this.status !== undefined) {
      if (waited instanceof Promise) return waited.then(() => this.finish())
      this.finish()
    }
    return waited
  }

  stderr(chunk: Buffer): void {
    if (this.settled || this.errDone) return
    this.err = this.err.length === 0 ? chunk : Buffer.concat([this.err, chunk])
    const at = this.err.indexOf(`${this.marker}\n`)
    const hold = at >= 0 ? 0 : heldBack(this.err, this.marker)
    const pass = at >= 0 ? this.err.subarray(0, at) : this.err.subarray(0, this.err.length - hold)
    this.err = at >= 0 ? Buffer.alloc(0) : this.err.subarray(this.err.length - hold)
    if (pass.length > 0) this.handlers.onStderr?.(pass)
    if (at >= 0) {
      this.errDone = true
      this.finish()
    }
  }

  fail(error: Error): void {
    this.reject(error)
  }

  settle(outcome: () => void): void {
    if (this.settled) return
    this.settled = true
    this.onSettled?.()
    outcome()
  }

  private finish(): void {
    if (this.status !== undefined && this.errDone) this.settle(() => this.resolve(this.status!))
  }
}

/**
 * How many bytes at the end of `buffer` may be the start of an end line (`marker` and what follows
 * it on its line), and so are kept until more arrives; the rest is the script's.
 */
export function heldBack(buffer: Buffer, marker: string): number {
  const at = buffer.lastIndexOf(marker)
  if (at >= 0 && buffer.indexOf(0x0a, at) < 0) return buffer.length - at
  for (let length = Math.min(marker.length - 1, buffer.length); length > 0; length--) {
    if (buffer.subarray(buffer.length - length).equals(Buffer.from(marker.slice(0, length)))) return length
  }
  return 0
}
