import {jsonDocumentPieces} from '../output/json.js'
import {writeOut} from '../terminal/stdout.js'
import type {ArgDef, FlagDef, ParsedInput} from './flags.js'
import {parseCommandLine} from './parse.js'
import {reportError} from './report-error.js'

/**
 * A command, declared once: its flags and arguments as plain data (the shape oclif caches in
 * oclif.manifest.json, so oclif renders help, topics and completions from it), and what it does
 * with them. There is one parser (cli/parse.ts) and one way to run a command (runCommand), whether
 * bin/run.js reaches it directly or oclif does (OrchCommand.run below): both print the same bytes.
 */
export interface CommandSpec<F extends Record<string, FlagDef>, A extends Record<string, ArgDef>> {
  /** oclif's id ("host:up"), for messages: "see orch host up --help". */
  id: string
  summary: string
  description?: string
  examples?: string[]
  /** Words beyond the declared arguments are allowed (a command after --); they arrive as `words`. */
  strict?: boolean
  /** --json: one document on stdout (the returned value), nothing else. Default true. */
  enableJsonFlag?: boolean
  flags: F
  args?: A
  run(input: ParsedInput<F, A>, io: CommandIo): Promise<unknown>
}

/** Where a command's output goes: text for people on stdout, notes and progress on stderr. */
export interface CommandIo {
  json: boolean
  /**
   * Human output on stdout. A function, called only when --json is off: under --json the text
   * (often a table over every job) is never built.
   */
  say(text: () => string): void
  /** Progress and warnings on stderr. */
  note(text: string): void
}

const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`)

/** Parse the words after the command's id, run it, print its result; every error is reported here. */
export async function runCommand(spec: CommandSpec<Record<string, FlagDef>, Record<string, ArgDef>>, argv: readonly string[]): Promise<void> {
  const jsonAllowed = spec.enableJsonFlag !== false
  let json = false
  try {
    const input = parseCommandLine(spec, argv)
    json = jsonAllowed && input.flags.json === true
    const io: CommandIo = {
      json,
      say: (text) => void (json || process.stdout.write(withNewline(text()))),
      note: (text) => void process.stderr.write(withNewline(text)),
    }
    const result = await spec.run(input, io)
    if (json && result !== undefined) {
      for (const piece of jsonDocumentPieces(result, process.stdout.isTTY === true)) await writeOut(piece)
      await writeOut('\n')
    }
  } catch (error) {
    // Asked for from the words alone, so that an unknown flag or a missing argument is still
    // reported as the JSON error document (reportError reads them).
    reportError(error, {argv})
  }
}

/**
 * The class oclif loads for a command (`static run(argv)` is all oclif calls). It extends nothing
 * of oclif's, so this module and every command load without oclif on the hot path.
 */
export function defineCommand<F extends Record<string, FlagDef>, A extends Record<string, ArgDef> = Record<never, ArgDef>>(spec: CommandSpec<F, A>) {
  const generic = spec as unknown as CommandSpec<Record<string, FlagDef>, Record<string, ArgDef>>
  return class OrchCommand {
    static readonly spec = generic
    static readonly id = spec.id
    static readonly summary = spec.summary
    static readonly description = spec.description
    static readonly examples = spec.examples
    static readonly strict = spec.strict ?? true
    static readonly enableJsonFlag = spec.enableJsonFlag !== false
    static readonly flags = spec.flags
    static readonly args = spec.args ?? {}
    static run(argv: string[]): Promise<void> {
      return runCommand(generic, argv)
    }
  }
}

export type OrchCommandClass = ReturnType<typeof defineCommand>
