/**
 * A command's work after its arguments are parsed, free of oclif: the oclif command class and the
 * fast path (cli/fast-path.ts) both call it, so a command behaves the same however it starts.
 */
export interface ActionIo {
  json: boolean
  /**
   * Human output on stdout. A function, called only when --json is off: under --json the text
   * (often a table over every job) is never built.
   */
  say(text: () => string): void
  /** Progress and warnings on stderr. */
  note(text: string): void
}

export interface ActionInput<F> {
  flags: F
  args: Record<string, string | undefined>
  /** Positional words in typed order (after the declared arguments, e.g. a command after --). */
  words: string[]
}

/** Returns the --json document (undefined: nothing to print). Sets process.exitCode itself when needed. */
export type Action<F> = (input: ActionInput<F>, io: ActionIo) => Promise<unknown>

export const writeLine = (stream: NodeJS.WriteStream, text: string) => stream.write(text.endsWith('\n') ? text : `${text}\n`)
