/**
 * stdout's reader going away (`orch list | head -1`, a pager quit early) is an ordinary end of
 * output, as it is for cat or grep: orch stops there, quietly, with status 0. Node reports it as
 * EPIPE (or ERR_STREAM_DESTROYED for a write after that), either as an 'error' event on
 * process.stdout, which would crash with a stack trace, or as an error thrown or rejected into
 * whatever was writing. guardStdout() catches both for every entry point (bin/run.js calls it
 * before any command loads), and reportError() defers to it for errors a command caught.
 */
const CLOSED_CODES = new Set(['EPIPE', 'ERR_STREAM_DESTROYED'])
const closed = new AbortController()

/** Aborts once stdout's reader is gone, so a log follower stops its (remote) read, not just its writes. */
export const stdoutClosed: AbortSignal = closed.signal

let guarded = false

export function guardStdout(): void {
  if (guarded) return
  guarded = true
  // Registered before oclif's own listener, which swallows EPIPE but lets the command run on: a
  // `logs` then waits forever for a 'drain' that cannot come.
  process.stdout.on('error', (error) => {
    if (isClosedStdoutError(error, true)) endQuietly()
    throw error
  })
  // The monitor runs before Node prints an uncaught error (or an unhandled rejection), so exiting
  // here suppresses the trace for this case only; every other error still crashes as before.
  process.on('uncaughtExceptionMonitor', (error) => {
    if (isClosedStdoutError(error)) endQuietly()
  })
}

/**
 * Whether an error is stdout's reader going away. An EPIPE alone could come from an SSH socket or a
 * child's stdin, so a thrown one counts only once stdout itself is destroyed (Node destroys the
 * stream before it reports the failed write).
 */
export function isClosedStdoutError(error: unknown, onStdout = false): boolean {
  const code = (error as {code?: unknown} | null | undefined)?.code
  return typeof code === 'string' && CLOSED_CODES.has(code) && (onStdout || process.stdout.destroyed || closed.signal.aborted)
}

/** Stop readers (local reads are killed, SSH channels closed), then exit 0 before anything else prints. */
export function endQuietly(): never {
  closed.abort()
  process.exit(0)
}

/** Write to stdout, waiting for it to drain: a slow pipe slows the reader, never loses bytes. */
export function writeOut(chunk: Buffer | string): Promise<void> | void {
  if (process.stdout.write(chunk)) return
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()))
}
