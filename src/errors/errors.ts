/**
 * Every failure orch reports is an OrchError: it says what went wrong, what to do next,
 * and which exit status it maps to. The table below is the only place exit codes live.
 */
export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  notFound: 4,
  conflict: 5,
  connection: 6,
  hostKey: 7,
  hostSetup: 8,
  cloud: 9,
  /** orch run: the job was not started; it waits on its host for orch approve NAME (not an error). */
  awaitingApproval: 10,
  internal: 70,
} as const

export type ExitKind = keyof typeof EXIT_CODES

/** The kinds an error can have: every exit kind but success. Under --json they are the error document's `code`. */
export type ErrorCode = Exclude<ExitKind, 'ok' | 'awaitingApproval'>

/**
 * What an error is under --json: one document on stdout (the one-line message still goes to stderr).
 * All four fields are always present; `hint` is null when there is nothing more to say.
 */
export interface ErrorDocument {
  error: {
    code: ErrorCode
    message: string
    hint: string | null
    exitCode: number
  }
}

export const EXIT_CODE_DESCRIPTIONS: Record<ExitKind, string> = {
  ok: 'success',
  failure: 'the job or operation failed (orch logs -f and run --wait exit with the job\'s own status instead)',
  usage: 'bad input: an invalid flag value, job name or argument',
  config: 'configuration missing or malformed',
  notFound: 'no such job',
  conflict: 'the job name is in use, or the job is in a state that forbids the operation',
  connection: 'the host is unreachable, refused the connection, or refused authentication',
  hostKey: 'the host key is unknown or has changed',
  hostSetup: 'the host lacks something orch needs (tmux, git, …)',
  cloud: 'an AWS call failed or the instance is unusable',
  awaitingApproval: 'orch run: the job was not started; it waits QUEUED on its host for orch approve NAME (its estimated cost is over the limit, or unknown)',
  internal: 'a bug in orch',
}

export class OrchError extends Error {
  readonly kind: ErrorCode
  /** What the user should do next; printed after the message. */
  readonly hint?: string

  constructor(kind: ErrorCode, message: string, hint?: string) {
    super(message)
    this.name = 'OrchError'
    this.kind = kind
    this.hint = hint
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind]
  }

  /** The one line written to stderr. */
  toLine(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message
  }

  /** The --json error document (texts passed through `clean`, e.g. secret redaction). */
  toDocument(clean: (text: string) => string = (text) => text): ErrorDocument {
    return {error: {code: this.kind, message: clean(this.message), hint: this.hint ? clean(this.hint) : null, exitCode: this.exitCode}}
  }
}

export const usageError = (message: string, hint?: string) => new OrchError('usage', message, hint)
export const configError = (message: string, hint?: string) => new OrchError('config', message, hint)

/** Turn anything thrown into an OrchError (unknown errors are bugs). */
export function toOrchError(error: unknown): OrchError {
  if (error instanceof OrchError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new OrchError('internal', `unexpected error: ${message}`, 'please report this with the command you ran')
}
