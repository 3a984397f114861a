import {type OrchError} from '../output/errors.js'
import {redactSecrets} from '../output/redact.js'

/** The single place an error reaches the user: one line on stderr, and the exit status. */
export function reportError(error: OrchError, stack?: string): void {
  process.stderr.write(`orch: ${redactSecrets(error.toLine())}\n`)
  process.exitCode = error.exitCode
  if (error.kind === 'internal' && process.env.ORCH_DEBUG && stack) process.stderr.write(`${stack}\n`)
}
