/**
 * The connection holder (bin/orch-holder.js): a detached process holding one SSH connection for
 * ORCH_CONTROL_PERSIST of idle time, serving scripts to orch commands over its Unix socket
 * (holder-protocol.ts). It reads its target on stdin (a private pipe), connects, verifying the
 * host key against known_hosts (never accepting a new one: the command that started it already
 * did) and authenticating without a terminal, and only then claims the socket:
 *
 * - a live holder already answering there wins: this one exits (two commands racing leave one);
 * - a stale socket (a crash) is removed and taken;
 * - every second it checks that the socket is still its own (same inode): removed or taken over, it
 *   exits; it exits too when its connection closes, or after the idle time with nothing running,
 *   removing its socket.
 *
 * Channels are shared by the rule of channel-pool.ts: at most as many at once as the server takes
 * (10, OpenSSH's default MaxSessions, lowered when it refuses one), the rest waiting their turn.
 * While channels keep coming free the queue moves and a script waits its turn however long the
 * queue; when none has come free for QUEUE_MAX_MS (every channel held by long followers), a
 * waiting script is handed back (not started) and its command connects on its own.
 */
import {chmodSync, lstatSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {type Server, type Socket, createConnection, createServer} from 'node:net'
import {PassThrough} from 'node:stream'

import {type HolderSpec, failedMarker} from './holder-host.js'
import {FRAME, FrameDecoder, dataFrames, frame, jsonFrame} from './holder-protocol.js'
import {ChannelPool} from './channel-pool.js'
import {KEPT_SHELL_MAX_INPUT} from './kept-shell.js'
import {SshHost} from './ssh-host.js'

const QUEUE_MAX_MS = 10_000
/**
 * Shells kept open on the connection for scripts with no input or small input (status, list, logs, run): such a
 * script then costs the host a fork instead of a session (sshd's process and the login shell's
 * start, about 100 ms on an idle loopback host). Each holds one channel, given back as soon as a
 * script waits for one.
 */
const MAX_SHELLS = 1

export async function holderMain(): Promise<void> {
  let spec: HolderSpec
  try {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    spec = JSON.parse(Buffer.concat(chunks).toString()) as HolderSpec
  } catch {
    process.exit(2)
  }
  const host = new SshHost({...spec.target, acceptNewHostKey: false})
  try {
    await host.open()
  } catch (error) {
    // Remembered for a while, so commands do not start a holder that cannot connect again and
    // again (an agent asking for confirmation or a touch, a key only a terminal unlocks).
    try {
      writeFileSync(failedMarker(spec.socketPath), `${(error as Error).message}\n`, {mode: 0o600})
    } catch {}
    process.exit(1)
  }
  const holder = new Holder(host, spec)
  process.on('uncaughtException', () => holder.crash())
  await holder.start()
}

class Holder {
  private server: Server = createServer((sock) => this.serve(sock))
  private ino?: number
  /** Requests in progress (queued or running): the idle clock runs only at 0. */
  private active = 0
  private idle?: NodeJS.Timeout
  private readonly pool = new ChannelPool(MAX_SHELLS)

  constructor(
    private readonly ssh: SshHost,
    private readonly spec: HolderSpec,
  ) {}

  async start(): Promise<void> {
    const path = this.spec.socketPath
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          this.server.once('error', reject)
          this.server.listen(path, () => {
            this.server.removeListener('error', reject)
            resolve()
          })
        })
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3) this.exit(1, false)
        if (await answers(path)) this.exit(0, false)
        try {
          unlinkSync(path)
        } catch {}
      }
    }
    try {
      chmodSync(path, 0o600)
      this.ino = lstatSync(path).ino
    } catch {
      this.exit(1, false)
    }
    rmSync(failedMarker(path), {force: true})
    this.server.on('error', () => this.exit(1))
    this.ssh.onConnectionClose(() => this.exit(0))
    setInterval(() => {
      if (!this.stillOurs()) this.exit(0, false)
    }, 1000)
    this.armIdle()
  }

  private stillOurs(): boolean {
    try {
      return lstatSync(this.spec.socketPath).ino === this.ino
    } catch {
      return false
    }
  }

  crash(): never {
    this.exit(70)
  }

  /** Ends the process; removes the socket only while it is still this holder's. */
  private exit(code: number, unlink = true): never {
    if (unlink && this.ino !== undefined && this.stillOurs()) {
      try {
        unlinkSync(this.spec.socketPath)
      } catch {}
    }
    void this.ssh.close()
    process.exit(code)
  }

  private armIdle(): void {
    clearTimeout(this.idle)
    if (this.active === 0) this.idle = setTimeout(() => this.exit(0), this.spec.persistMs)
  }

  private serve(sock: Socket): void {
    const decoder = new FrameDecoder()
    const input = new PassThrough()
    input.on('error', () => {})
    const abort = new AbortController()
    let opened = false
    let closed = false
    const send = (data: Buffer) => void (closed ? undefined : sock.write(data))
    sock.on('error', () => {})
    sock.on('close', () => {
      closed = true
      abort.abort()
    })
    sock.on('data', (chunk: Buffer) => {
      let frames
      try {
        frames = decoder.push(chunk)
      } catch {
        sock.destroy()
        return
      }
      for (const {type, payload} of frames) {
        switch (type) {
          case FRAME.PING:
            send(frame(FRAME.PONG))
            break
          case FRAME.QUIT:
            sock.end(frame(FRAME.PONG), () => this.exit(0))
            setTimeout(() => this.exit(0), 500)
            break
          case FRAME.OPEN:
            if (opened) break
            opened = true
            void this.request(sock, JSON.parse(payload.toString()) as {script: string; args: string[]; input?: boolean; inputBytes?: number}, input, abort, send, () => closed)
            break
          case FRAME.IN:
            if (!input.write(payload)) {
              sock.pause()
              input.once('drain', () => sock.resume())
            }
            break
          case FRAME.IN_END:
            input.end()
            break
          case FRAME.ABORT:
            abort.abort()
            break
        }
      }
    })
  }

  private async request(sock: Socket, ask: {script: string; args: string[]; input?: boolean; inputBytes?: number}, input: PassThrough, abort: AbortController, send: (data: Buffer) => void, gone: () => boolean): Promise<void> {
    this.active++
    clearTimeout(this.idle)
    const handlers = {
      onStdout: (chunk: Buffer) => {
        let ok = true
        for (const piece of dataFrames(FRAME.OUT, chunk)) ok = !gone() && sock.write(piece) && ok
        if (ok || gone()) return
        return new Promise<void>((resolve) => {
          sock.once('drain', resolve)
          sock.once('close', resolve)
        })
      },
      onStderr: (chunk: Buffer) => {
        for (const piece of dataFrames(FRAME.ERR, chunk)) send(piece)
      },
    }
    // Bytes a command sends whole (orch run's job files) are read here first, so that the script
    // can run on a kept shell too (the pool decides); a stream (a sync's archive) goes on its own
    // channel as it comes.
    let given: PassThrough | Buffer | undefined = ask.input === false ? undefined : input
    try {
      if (given !== undefined && ask.inputBytes !== undefined && ask.inputBytes <= KEPT_SHELL_MAX_INPUT) {
        given = await readAll(input, abort.signal)
        if (given === undefined) return // its command went away before sending it all
      }
      let started = false
      try {
        const code = await this.pool.run(
          () => Promise.resolve(this.ssh),
          ask.script,
          {
            input: given,
            args: ask.args,
            signal: abort.signal,
            onStarted: () => {
              started = true
              send(frame(FRAME.STARTED))
            },
            ...handlers,
          },
          {
            tick: () => send(frame(FRAME.QUEUED)),
            // A queue that moves is waited on; one where no channel came free for a while (every
            // one held by long followers) is handed back, and its command connects on its own.
            giveUp: (since) => gone() || Date.now() - since > QUEUE_MAX_MS,
          },
        )
        send(jsonFrame(FRAME.EXIT, {code}))
      } catch (error) {
        send(jsonFrame(FRAME.FAIL, {message: error instanceof Error ? error.message : String(error), started}))
      }
    } finally {
      sock.end()
      this.active--
      this.armIdle()
    }
  }
}

/** Everything a request's input stream brings, or undefined when its command went away first. */
function readAll(input: PassThrough, signal: AbortSignal): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const done = (value: Buffer | undefined) => {
      signal.removeEventListener('abort', gone)
      resolve(value)
    }
    const gone = () => done(undefined)
    if (signal.aborted) return gone()
    signal.addEventListener('abort', gone, {once: true})
    input.on('data', (chunk: Buffer) => void chunks.push(chunk))
    input.once('end', () => done(Buffer.concat(chunks)))
    input.once('error', gone)
  })
}

/** Whether a holder answers on `path` within a second. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(path)
    const decoder = new FrameDecoder()
    const done = (value: boolean) => {
      clearTimeout(timer)
      sock.destroy()
      resolve(value)
    }
    const timer = setTimeout(() => done(false), 1000)
    sock.on('connect', () => sock.write(frame(FRAME.PING)))
    sock.on('data', (chunk: Buffer) => {
      try {
        if (decoder.push(chunk).some((f) => f.type === FRAME.PONG)) done(true)
      } catch {
        done(false)
      }
    })
    sock.on('error', () => done(false))
    sock.on('close', () => done(false))
  })
}
