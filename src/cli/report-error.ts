import {type OrchError, toOrchError} from '../output/errors.js'
import {redactSecrets} from '../output/redact.js'
import {endQuietly, isClosedStdoutError} from '../output/stdout.js'

/**
 * The single place an error reaches the user: one line on stderr, and the exit status. `mapped`
 * overrides the default mapping (e.g. oclif's parse errors as usage errors).
 */
export function reportError(error: unknown, mapped: OrchError = toOrchError(error)): void {
  // A write that failed because the reader left (| head) is the end of output, not a failure.
  if (isClosedStdoutError(error)) endQuietly()
  process.stderr.write(`orch: ${redactSecrets(mapped.toLine())}\n`)
  process.exitCode = mapped.exitCode
  const stack = (error as Error | undefined)?.stack
  if (mapped.kind === 'internal' && process.env.ORCH_DEBUG && stack) process.stderr.write(`${stack}\n`)
}
