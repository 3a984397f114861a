/**
 * Exponential backoff for AWS calls: the only retry policy orch has. The clients are built with
 * the SDK's own retries off (`maxAttempts: 1`, see SDK_CLIENT_RETRY), so a throttled call is tried
 * at most DEFAULT_RETRY.attempts times, never that times the SDK's 3; and one policy decides what
 * is worth another try (isTransientError), how long to wait, and what the user is told.
 */
import {isTransientError} from './aws-errors.js'
import {realSleep, type Sleep} from './util.js'

export interface RetryOptions {
  /** Total attempts, the first included (default 6). */
  attempts?: number
  /** Delay before the first retry (default 500 ms); doubles on each retry. */
  baseMs?: number
  /** Longest delay between attempts (default 20 s). */
  maxMs?: number
  /** Injected in tests so retries take no time. */
  sleep?: Sleep
  /** 0..1; the delay is scaled by 0.5 + random/2 ("equal jitter"). Injected in tests for exact delays. */
  random?: () => number
  /** Which errors are worth another try (default: throttling, 5xx, service unavailable, network). */
  isRetryable?: (error: unknown) => boolean
  /** Told before each pause, e.g. to show "throttled, retrying in 2s". */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
}

export const DEFAULT_RETRY = {attempts: 6, baseMs: 500, maxMs: 20_000} as const

/** What every AWS client orch builds is given: no retries of its own, withRetry does them. */
export const SDK_CLIENT_RETRY = {maxAttempts: 1} as const

/** The pause before retry number `retry` (0-based). */
export function backoffDelay(retry: number, options: Pick<RetryOptions, 'baseMs' | 'maxMs' | 'random'> = {}): number {
  const base = options.baseMs ?? DEFAULT_RETRY.baseMs
  const max = options.maxMs ?? DEFAULT_RETRY.maxMs
  const random = options.random ?? Math.random
  const ceiling = Math.min(max, base * 2 ** retry)
  return Math.round(ceiling * (0.5 + random() / 2))
}

export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_RETRY.attempts)
  const sleep = options.sleep ?? realSleep
  const isRetryable = options.isRetryable ?? isTransientError
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error
      const delay = backoffDelay(attempt - 1, options)
      options.onRetry?.(error, attempt, delay)
      await sleep(delay)
    }
  }
}

type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>
interface SentCommand {
  input: object
  constructor: new (input: object) => unknown
}

/**
 * The client as an SDK paginator should get it: each request goes through withRetry, so a
 * throttled page is asked for again rather than failing the whole walk. Every attempt sends a new
 * command built from a copy of the input without its unset fields: the SDK must not be given one
 * command object twice (it adds its middleware to the command on every send), and a paginator
 * reuses one input object for all pages, setting its token fields (undefined on the first page).
 */
export function retryingClient<C extends object>(client: C, retry?: RetryOptions): C {
  const send = (client as {send: Send}).send
  return new Proxy(client, {
    get(target, key, receiver) {
      if (key !== 'send') return Reflect.get(target, key, receiver)
      return (command: SentCommand, ...rest: unknown[]) => {
        const input = Object.fromEntries(Object.entries(command.input).filter(([, value]) => value !== undefined))
        return withRetry(() => send.call(target, new command.constructor(input), ...rest), retry)
      }
    },
  })
}
