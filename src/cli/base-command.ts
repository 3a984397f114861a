import {Command, Errors, type Interfaces} from '@oclif/core'

import {EXIT_CODES, OrchError, toOrchError, usageError} from '../errors/errors.js'
import {jsonDocument} from '../output/json.js'
import type {ActionIo} from './actions/action.js'
import {jsonRequested, reportError} from './report-error.js'

/**
 * Shared behaviour of every orch command: `--json` (one document on stdout, nothing else), and
 * errors as one line on stderr with the exit status from the table in errors/errors.ts (under
 * --json, also as the error document on stdout).
 */
export abstract class OrchCommand extends Command {
  static override enableJsonFlag = true

  /**
   * Human text goes to stdout only when --json is off, and is built only then: oclif silences
   * this.log under --json, but an argument would still be formatted first.
   */
  protected say(text: () => string): void {
    if (this.jsonEnabled()) return
    const shown = text()
    process.stdout.write(shown.endsWith('\n') ? shown : `${shown}\n`)
  }

  /** One document, written as the fast paths write it (output/json.ts), so both paths print the same bytes. */
  override logJson(json: unknown): void {
    process.stdout.write(`${jsonDocument(json, process.stdout.isTTY === true)}\n`)
  }

  /** The output side an action (cli/actions) writes through. */
  protected io(): ActionIo {
    return {json: this.jsonEnabled(), say: (text) => this.say(text), note: (text) => this.note(text)}
  }

  /** Progress and notes go to stderr, so stdout stays clean for pipes. */
  protected note(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /**
   * oclif reads `--flag=value` on a boolean flag as `--flag` plus a stray argument `value`, so
   * `--light=false` would turn --light on; such a value is refused instead (node:util's parser in
   * the fast route path refuses it too, and then defers to this path).
   */
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends FlagOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv: string[] = this.argv,
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    const definitions: Interfaces.FlagInput = {...this.ctor.baseFlags, ...(options?.flags ?? this.ctor.flags)}
    const isBoolean = (name: string) => definitions[name]?.type === 'boolean' || (name === 'json' && this.ctor.enableJsonFlag)
    const end = argv.indexOf('--')
    for (const arg of end === -1 ? argv : argv.slice(0, end)) {
      const match = /^--([^=]+)=/.exec(arg)
      if (match && isBoolean(match[1]!)) {
        throw usageError(`--${match[1]} takes no value (got "${arg}")`, `give --${match[1]} alone to turn it on, or leave it out`)
      }
    }
    return parsed
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof Errors.ExitError) {
      process.exitCode = error.oclif.exit
      return
    }
    const orchError = isParseError(error)
      ? new OrchError('usage', parseErrorMessage(error), `see orch ${this.id?.replaceAll(':', ' ') ?? ''} --help`.replace(/\s+--help/, ' --help'))
      : toOrchError(error)
    // From the words, not from this.jsonEnabled(): a command without --json (logs, attach) refuses
    // the flag, and that refusal is still asked for as JSON.
    reportError(error, {json: jsonRequested(this.argv), mapped: orchError})
  }

  /** Exit with a status without throwing through oclif's error printer. */
  protected setExitCode(code: number): void {
    process.exitCode = code
  }
}

type FlagOutput = {[name: string]: any} // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The command's positional words in the order they were typed. oclif's `argv` is sorted by each
 * word's first occurrence on the command line, so `route --json -- echo --json` would come back
 * as `--json echo`; its raw argument tokens keep the order.
 */
export function argWords(parsed: {raw: Interfaces.ParserOutput['raw']}): string[] {
  return parsed.raw.flatMap((token) => (token.type === 'arg' ? [token.input] : []))
}

/** oclif's parse error in one line: "missing argument NAME" for a missing argument (oclif lists their descriptions too). */
function parseErrorMessage(error: Error): string {
  const missing = (error as {args?: Array<{name?: string}>}).args
  if (Array.isArray(missing) && /^Missing \d+ required arg/.test(error.message)) {
    const names = missing.map((arg) => arg.name?.toUpperCase()).filter(Boolean)
    if (names.length > 0) return `missing argument${names.length === 1 ? '' : 's'} ${names.join(' ')}`
  }
  return firstLine(error.message)
}

/** The first line of oclif's message, joined with the next when it ends in a colon ("Missing 1 required arg:"). */
export function firstLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim().replace(/\s+/g, ' ')).filter((line) => line !== '')
  if (lines.length === 0) return text
  return lines[0]!.endsWith(':') && lines[1] ? `${lines[0]} ${lines[1]}` : lines[0]!
}

function isParseError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false
  // oclif's parser errors (unknown flag, bad option, missing argument) all carry exit code 2.
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  return error instanceof Errors.CLIError && oclif?.exit === 2 && !(error instanceof OrchError)
}

export {EXIT_CODES}
