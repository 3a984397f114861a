/**
 * An SSH host reached through a connection holder when one is live (OpenSSH's ControlMaster /
 * ControlPersist, done orch's way): a small detached local process (holder-main.ts) that keeps one
 * verified, authenticated SSH connection open and runs each script on a channel of it, asked over
 * a Unix socket in a private directory (control-socket.ts, holder-protocol.ts).
 *
 * Every script goes to the holder first. When there is none (no socket, a stale one, no answer
 * within a few seconds, or a holder whose connection is gone before the script started), this
 * command connects directly — verifying the host key and authenticating itself, a passphrase
 * prompt included — and keeps that connection for the rest of the command; it then starts a
 * holder for the next commands, unless the key's passphrase had to be typed (a holder has no
 * terminal to ask on, and orch does not hand a typed passphrase to another process). A failure
 * after the script started is a TransportError, exactly as over a direct connection: nothing is
 * ever run twice. Interactive sessions (attach's pty) always connect directly.
 *
 * This module does not load ssh2: a command served by a holder never does.
 */
import {spawn} from 'node:child_process'
import {statSync} from 'node:fs'
import {createConnection} from 'node:net'
import {fileURLToPath} from 'node:url'

import {OrchError} from '../errors/errors.js'
import {controlKey, controlSocketPath, socketIsOurs} from './control-socket.js'
import {FRAME, FrameDecoder, dataFrames, frame, jsonFrame} from './holder-protocol.js'
import type {ForegroundOptions, Host, ScriptResult, ScriptRun, StreamHandlers} from './host.js'
import {TransportError, collectStream, isStreamInput} from './host.js'
import {hostToken} from './known-hosts.js'
import type {SshTarget} from './ssh-config.js'
import type {SshHost} from './ssh-host.js'

/** How long the holder may stay silent before the script started (it sends QUEUED while waiting). */
const SILENCE_MS = 5000

export interface HolderHostOptions {
  /** Idle time of a holder this command starts (ORCH_CONTROL_PERSIST), in milliseconds; > 0. */
  persistMs: number
  env?: NodeJS.ProcessEnv
  /** One line for stderr (why reuse is off). */
  note?: (line: string) => void
}

/** What the holder made of a script: served (an exit code), or not run at all. */
type Outcome = {served: true; code: number} | {served: false; why: string}

export interface HolderSpec {
  target: SshTarget
  socketPath: string
  persistMs: number
}

export class HolderHost implements Host {
  readonly kind = 'ssh' as const
  readonly label: string
  private direct?: SshHost
  private connecting?: Promise<SshHost>
  /** The socket, or undefined when reuse is off (no private directory). */
  readonly socketPath?: string

  constructor(
    private readonly target: SshTarget,
    private readonly options: HolderHostOptions,
  ) {
    this.label = `${target.user}@${hostToken(target.host, target.port)}`
    const found = controlSocketPath(controlKey(target, options.env), options.env)
    if (found.ok) this.socketPath = found.path
    else options.note?.(`orch: note: connections are not reused: ${found.why}`)
    // No holder to ask: ssh2 loads now, while the caller does other things.
    if (!this.socketPath || !socketIsOurs(this.socketPath)) void import('./ssh-host.js').then((m) => m.preloadSsh2()).catch(() => {})
  }

  run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    return collectStream((text, opts) => this.stream(text, opts), script, options)
  }

  async stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    if (!this.direct && this.socketPath) {
      const outcome = await viaHolder(this.socketPath, script, options)
      if (outcome.served) return outcome.code
    }
    const direct = await this.connectDirectly(true)
    return direct.stream(script, options)
  }

  /** attach's pty: always over a connection of this command's own. */
  async interactive(argv: readonly string[]): Promise<number> {
    return (await this.connectDirectly(false)).interactive(argv)
  }

  async foreground(_argv: readonly string[], _options?: ForegroundOptions): Promise<number> {
    throw new OrchError('internal', `a job cannot run in the foreground on ${this.label}`, 'cloud jobs run in tmux; please report this')
  }

  /** After a transport failure (logs -f): a direct connection from here on. */
  async reconnect(): Promise<void> {
    if (this.direct) await this.direct.reconnect()
    else await this.connectDirectly(true)
  }

  async close(): Promise<void> {
    await this.direct?.close()
  }

  /** Ends this destination's holder; false when none was live. */
  async disconnect(): Promise<boolean> {
    if (!this.socketPath || !socketIsOurs(this.socketPath)) return false
    return quitHolder(this.socketPath)
  }

  private connectDirectly(startHolder: boolean): Promise<SshHost> {
    this.connecting ??= (async () => {
      const {SshHost} = await import('./ssh-host.js')
      const host = new SshHost(this.target)
      try {
        await host.open()
      } catch (error) {
        this.connecting = undefined
        throw error
      }
      this.direct = host
      if (startHolder && this.socketPath && !host.passphraseAsked) startHolderProcess({target: this.target, socketPath: this.socketPath, persistMs: this.options.persistMs}, this.options.env)
      return host
    })()
    return this.connecting
  }
}

/** Written by a holder that could not connect; no new one is started for FAILED_BACKOFF_MS. */
export const failedMarker = (socketPath: string): string => `${socketPath}.failed`
const FAILED_BACKOFF_MS = 10 * 60_000

/** Starts a detached holder; it verifies and authenticates on its own, then claims the socket. */
function startHolderProcess(spec: HolderSpec, env: NodeJS.ProcessEnv = process.env): void {
  try {
    if (Date.now() - statSync(failedMarker(spec.socketPath)).mtimeMs < Math.min(FAILED_BACKOFF_MS, spec.persistMs)) return
  } catch {}
  try {
    const entry = fileURLToPath(new URL('../../bin/orch-holder.js', import.meta.url))
    const child = spawn(process.execPath, [entry, spec.socketPath], {detached: true, stdio: ['pipe', 'ignore', 'ignore'], env})
    child.on('error', () => {})
    child.stdin!.on('error', () => {})
    // The target (a passphrase from ORCH_SSH_PASSPHRASE included) travels on a private pipe.
    child.stdin!.end(JSON.stringify(spec))
    child.unref()
  } catch {
    // No holder: the next command connects directly again.
  }
}

/** Asks the holder on `path` to end; true when one answered. */
function quitHolder(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(path)
    const decoder = new FrameDecoder()
    const timer = setTimeout(() => done(false), SILENCE_MS)
    let answered = false
    const done = (value: boolean) => {
      clearTimeout(timer)
      sock.destroy()
      resolve(value)
    }
    sock.on('connect', () => sock.write(frame(FRAME.QUIT)))
    sock.on('data', (chunk: Buffer) => {
      try {
        if (decoder.push(chunk).some((f) => f.type === FRAME.PONG)) answered = true
      } catch {}
    })
    sock.on('error', () => done(answered))
    sock.on('close', () => done(answered))
  })
}

/** Runs one script through the holder listening on `path`. */
function viaHolder(path: string, script: string, options: ScriptRun & StreamHandlers): Promise<Outcome> {
  if (!socketIsOurs(path)) return Promise.resolve({served: false, why: 'no holder'})
  if (options.signal?.aborted) return Promise.resolve({served: true, code: 130})
  return new Promise<Outcome>((resolve, reject) => {
    const sock = createConnection(path)
    const decoder = new FrameDecoder()
    const input = options.input
    let started = false
    let settled = false
    let failure = ''
    let silence: NodeJS.Timeout | undefined
    const listen = () => {
      clearTimeout(silence)
      silence = setTimeout(() => giveUp('no answer from the connection holder'), SILENCE_MS)
    }
    listen()

    const finish = (outcome: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(silence)
      options.signal?.removeEventListener('abort', onAbort)
      if (isStreamInput(input) && started) {
        input.removeListener('data', onInputData)
        if (!input.readableEnded) input.destroy()
      }
      outcome()
    }
    const giveUp = (why: string) =>
      finish(() => {
        sock.destroy()
        resolve({served: false, why})
      })
    const onAbort = () =>
      finish(() => {
        if (started) sock.end(frame(FRAME.ABORT))
        else sock.destroy()
        resolve({served: true, code: 130})
      })
    options.signal?.addEventListener('abort', onAbort, {once: true})

    const send = (data: Buffer): boolean => (sock.destroyed ? true : sock.write(data))
    const onInputData = (chunk: Buffer) => {
      let ok = true
      for (const piece of dataFrames(FRAME.IN, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))) ok = send(piece) && ok
      if (!ok && isStreamInput(input)) {
        input.pause()
        sock.once('drain', () => input.resume())
      }
    }
    let inputSent = false
    const sendInput = () => {
      if (inputSent) return
      inputSent = true
      if (isStreamInput(input)) {
        input.on('data', onInputData)
        input.once('end', () => send(frame(FRAME.IN_END)))
        input.once('error', () => send(frame(FRAME.ABORT)))
        return
      }
      const data = input === undefined ? Buffer.alloc(0) : typeof input === 'string' ? Buffer.from(input) : input
      for (const piece of dataFrames(FRAME.IN, data)) send(piece)
      send(frame(FRAME.IN_END))
    }

    /** One frame; a promise when the caller asked to wait (backpressure). */
    const handle = (type: number, payload: Buffer): void | Promise<void> => {
      if (settled) return
      switch (type) {
        case FRAME.QUEUED:
          listen()
          return
        case FRAME.STARTED:
          started = true
          clearTimeout(silence)
          options.onStarted?.()
          sendInput()
          return
        case FRAME.OUT:
          return options.onStdout(payload)
        case FRAME.ERR:
          options.onStderr?.(payload)
          return
        case FRAME.EXIT: {
          const {code} = JSON.parse(payload.toString()) as {code: number}
          finish(() => {
            sock.end()
            resolve({served: true, code})
          })
          return
        }
        case FRAME.FAIL: {
          const said = JSON.parse(payload.toString()) as {message: string; started: boolean}
          if (!said.started && !started) return giveUp(`the connection holder: ${said.message}`)
          finish(() => {
            sock.destroy()
            reject(new TransportError(said.message))
          })
          return
        }
        case CLOSED:
          if (started) finish(() => reject(new TransportError(`the connection holder went away${failure ? ` (${failure})` : ''}`)))
          else giveUp(failure || 'the connection holder closed')
      }
    }

    // Frames are handled strictly in order; while the caller digests output, reading pauses.
    const queue: {type: number; payload: Buffer}[] = []
    let pumping = false
    const pump = async () => {
      if (pumping) return
      pumping = true
      while (queue.length > 0) {
        const next = queue.shift()!
        let waited: void | Promise<void>
        try {
          waited = handle(next.type, next.payload)
        } catch (error) {
          finish(() => {
            sock.destroy()
            reject(error)
          })
          break
        }
        if (waited instanceof Promise) {
          sock.pause()
          try {
            await waited
          } catch (error) {
            finish(() => {
              sock.destroy()
              reject(error)
            })
          }
          sock.resume()
        }
      }
      pumping = false
    }

    // With `input: false`, or `inputBytes` it reads whole first, the holder may run the script on
    // a shell kept open there (kept-shell.ts). Bytes (not a stream) go right after the request;
    // a stream waits for STARTED, so nothing is read from it for a request the holder hands back.
    sock.on('connect', () => {
      send(jsonFrame(FRAME.OPEN, {script, args: options.args ?? [], input: options.input !== undefined, inputBytes: isStreamInput(input) || input === undefined ? undefined : Buffer.byteLength(input)}))
      if (!isStreamInput(input)) sendInput()
    })
    sock.on('data', (chunk: Buffer) => {
      try {
        queue.push(...decoder.push(chunk))
      } catch (error) {
        failure = (error as Error).message
        sock.destroy()
        return
      }
      void pump()
    })
    sock.on('error', (error: Error) => {
      failure = error.message
    })
    sock.on('close', () => {
      queue.push({type: CLOSED, payload: Buffer.alloc(0)})
      void pump()
    })
  })
}

/** A pseudo-frame queued when the socket closed, so it is handled after the frames before it. */
const CLOSED = -1
