import {Errors, flush, handle, run} from '@oclif/core'

import {OrchError, toOrchError} from '../errors/errors.js'
import {jsonRequested, reportError} from './report-error.js'

/**
 * oclif's entry point, for what the fast paths leave (bin/run.js). A command's own errors are
 * reported by OrchCommand.catch; what fails before a command runs — an unknown command such as
 * `orch rout` — is reported here the same way (one line on stderr, the JSON error document under
 * --json), not by oclif's printer.
 */
export async function runOclif(argv: string[], dir: string): Promise<void> {
  try {
    await run(argv, dir)
    await flush()
  } catch (error) {
    if (error instanceof Errors.ExitError) {
      await handle(error)
      return
    }
    const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
    // oclif's own refusals (an unknown command) carry exit 2, its usage status, as ours does.
    const mapped =
      error instanceof Errors.CLIError && !(error instanceof OrchError) && exit === 2
        ? new OrchError('usage', firstLine(error.message), 'see orch --help for the commands')
        : toOrchError(error)
    reportError(error, {json: jsonRequested(argv), mapped})
  }
}

/** The first line of oclif's message, joined with the next when it ends in a colon. */
function firstLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim().replace(/\s+/g, ' ')).filter((line) => line !== '')
  if (lines.length === 0) return text
  return lines[0]!.endsWith(':') && lines[1] ? `${lines[0]} ${lines[1]}` : lines[0]!
}
