import {type OrchError, toOrchError} from '../errors/errors.js'
import {redactSecrets} from '../errors/redact.js'
import {endQuietly, isClosedStdoutError} from '../terminal/stdout.js'

export interface ReportOptions {
  /** --json was asked for: the error is also one JSON document on stdout. */
  json?: boolean
  /** The command line, when --json is to be read from its words (see jsonRequested). */
  argv?: readonly string[]
  /** Overrides the default mapping (e.g. oclif's parse errors as usage errors). */
  mapped?: OrchError
}

/**
 * The single place an error reaches the user, on every path (the fast route, the fast path, oclif):
 * one line on stderr, under --json also the error document on stdout, and the exit status.
 */
export function reportError(error: unknown, options: ReportOptions = {}): void {
  const mapped = options.mapped ?? toOrchError(error)
  // A write that failed because the reader left (| head) is the end of output, not a failure.
  if (isClosedStdoutError(error)) endQuietly()
  process.stderr.write(`orch: ${redactSecrets(mapped.toLine())}\n`)
  if (options.json ?? jsonRequested(options.argv ?? [])) process.stdout.write(`${JSON.stringify(mapped.toDocument(redactSecrets), null, 2)}\n`)
  process.exitCode = mapped.exitCode
  const stack = (error as Error | undefined)?.stack
  if (mapped.kind === 'internal' && process.env.ORCH_DEBUG && stack) process.stderr.write(`${stack}\n`)
}

/**
 * Whether the command line asks for --json, read from the words alone so that it holds even when
 * parsing failed (an unknown flag, a missing argument, an unknown command): `--json` (or
 * `--json=…`, itself refused) before any `--`.
 */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--json' || arg.startsWith('--json='))
}
