/**
 * Exponential backoff for AWS calls. This sits on top of the SDK's own retries (3 quick attempts)
 * so that a burst of throttling does not fail a whole start or log shipment.
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
