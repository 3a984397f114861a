import {Command, Errors} from '@oclif/core'

import {EXIT_CODES, OrchError, toOrchError} from '../output/errors.js'
import {reportError} from './report-error.js'

/**
 * Shared behaviour of every orch command: `--json` (one document on stdout, nothing else), and
 * errors as one line on stderr with the exit status from the table in output/errors.ts.
 */
export abstract class OrchCommand extends Command {
  static override enableJsonFlag = true

  /** Human text goes to stdout only when --json is off. */
  protected say(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Progress and notes go to stderr, so stdout stays clean for pipes. */
  protected note(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof Errors.ExitError) {
      process.exitCode = error.oclif.exit
      return
    }
    const orchError = isParseError(error)
      ? new OrchError('usage', firstLine(error.message), `see orch ${this.id?.replaceAll(':', ' ') ?? ''} --help`.replace(/\s+--help/, ' --help'))
      : toOrchError(error)
    reportError(orchError, error.stack)
  }

  /** Exit with a status without throwing through oclif's error printer. */
  protected setExitCode(code: number): void {
    process.exitCode = code
  }
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text
}

function isParseError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false
  // oclif's parser errors (unknown flag, bad option, missing argument) all carry exit code 2.
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  return error instanceof Errors.CLIError && oclif?.exit === 2 && !(error instanceof OrchError)
}

export {EXIT_CODES}
