import type {Readable} from 'node:stream'

/**
 * Where jobs run. Everything orch does to a job is a POSIX sh script run through a Host with
 * positional arguments and optional stdin data, so job logic is written once for both kinds.
 */
export interface ScriptRun {
  /** Positional parameters: $1, $2, … inside the script. */
  args?: readonly string[]
  /**
   * Bytes fed to the script's stdin (user commands and secrets travel this way, never as words).
   * A stream is piped as it produces data (e.g. a tar stream for `run --sync`); stdin closes when
   * it ends.
   */
  input?: string | Buffer | Readable
}

/** Whether a script's input is a stream (not bytes). */
export function isStreamInput(input: ScriptRun['input']): input is Readable {
  return typeof input === 'object' && input !== null && !Buffer.isBuffer(input) && typeof (input as Readable).pipe === 'function'
}

export interface ScriptResult {
  code: number
  stdout: Buffer
  stderr: string
}

export interface StreamHandlers {
  onStdout: (chunk: Buffer) => void | Promise<void>
  onStderr?: (chunk: Buffer) => void
  /** Aborting stops reading; the remote script is told to hang up. */
  signal?: AbortSignal
  /**
   * Called once the script's channel is open: from here on the script may run, so a failure is no
   * longer one a caller may simply retry elsewhere (the connection holder uses it).
   */
  onStarted?: () => void
}

export interface ForegroundOptions {
  /** Send the program's stdout to stderr (stdout is kept for one JSON document). */
  stdoutToStderr?: boolean
}

export interface Host {
  readonly kind: 'local' | 'ssh'
  /** `local`, or `user@host:port` for messages and JSON. */
  readonly label: string
  /** Run a script to completion and collect its output. */
  run(script: string, options?: ScriptRun): Promise<ScriptResult>
  /** Run a script, handing stdout to the caller as it arrives (with backpressure). */
  stream(script: string, options: ScriptRun & StreamHandlers): Promise<number>
  /** Run a program attached to this terminal (a pty over SSH); resolves with its exit status. */
  interactive(argv: readonly string[]): Promise<number>
  /**
   * Run a local job's wrapper in the foreground, in its own process group: Ctrl-C here reaches the
   * group, and `orch stop` from another terminal can signal it without touching orch. Only this
   * machine runs jobs so; an SSH host refuses (its jobs run in tmux).
   */
  foreground(argv: readonly string[], options?: ForegroundOptions): Promise<number>
  /** Drop and re-establish the connection (SSH); a no-op locally. */
  reconnect(): Promise<void>
  close(): Promise<void>
}

/** Raised by stream() when the transport (not the script) failed, so a caller may reconnect and resume. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TransportError'
  }
}

/** `run` for a host that has `stream`: every byte collected, stdout as bytes and stderr as text. */
export async function collectStream(stream: (script: string, options: ScriptRun & StreamHandlers) => Promise<number>, script: string, options: ScriptRun = {}): Promise<ScriptResult> {
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  const code = await stream(script, {...options, onStdout: (chunk) => void stdout.push(chunk), onStderr: (chunk) => void stderr.push(chunk)})
  return {code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString()}
}
