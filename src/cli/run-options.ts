import type {OrchConfig} from '../config/config.js'
import {readEnvFile} from '../config/env-file.js'
import {DURATION_FORMS, SIZE_FORMS, parseDuration, parseSize} from '../config/units.js'
import {type Guardrails, parseEnvPairs} from '../jobs/start-job.js'
import {configError, usageError} from '../output/errors.js'
import {registerSecret} from '../output/redact.js'

export interface GuardrailFlags {
  retries?: string
  'retry-delay'?: string
  backoff?: string
  'max-parallel'?: string
  notify?: boolean
  'max-log-size'?: string
}

const wholeNumber = (flag: string, text: string, min: number) => {
  if (!/^\d+$/.test(text) || Number(text) < min) throw usageError(`--${flag} "${text}" is not a whole number of at least ${min}`, `e.g. --${flag} ${Math.max(min, 2)}`)
  return Number(text)
}

/** Guardrails from flags over configuration; every bad value is refused before any host is touched. */
export function guardrailsFrom(flags: GuardrailFlags, config: OrchConfig): Guardrails {
  const retries = flags.retries === undefined ? 0 : wholeNumber('retries', flags.retries, 0)
  let retryDelaySeconds = 30
  if (flags['retry-delay'] !== undefined) {
    const ms = parseDuration(flags['retry-delay'])
    if (ms === undefined) throw usageError(`--retry-delay "${flags['retry-delay']}" is not a duration`, `use ${DURATION_FORMS}`)
    retryDelaySeconds = Math.round(ms / 1000)
  }
  let backoff = 2
  if (flags.backoff !== undefined) {
    backoff = Number(flags.backoff)
    if (!/^\d+(\.\d+)?$/.test(flags.backoff) || backoff < 1) throw usageError(`--backoff "${flags.backoff}" is not a factor of at least 1`, 'e.g. --backoff 2 (each wait twice the last)')
  }
  const maxParallel = flags['max-parallel'] === undefined ? config.maxParallel : wholeNumber('max-parallel', flags['max-parallel'], 1)
  let maxLogSize = config.maxLogSize ?? 0
  if (flags['max-log-size'] !== undefined) {
    const size = parseSize(flags['max-log-size'])
    if (size === undefined) throw usageError(`--max-log-size "${flags['max-log-size']}" is not a size`, `use ${SIZE_FORMS.replace(' (or "unknown")', '')}`)
    maxLogSize = size
  }
  let notify: Guardrails['notify'] = config.notify
  if (flags.notify && notify === 'off') notify = config.slackWebhookUrl ? 'slack' : 'stdout'
  if (notify === 'slack' && !config.slackWebhookUrl) {
    throw configError('Slack notification asked for but ORCH_SLACK_WEBHOOK_URL is not set', 'set it in scripts/cloud/.env, or use ORCH_NOTIFY=stdout')
  }
  return {retries, retryDelaySeconds, backoff, maxParallel, notify, slackWebhookUrl: config.slackWebhookUrl, maxLogSize}
}

/** Variables from --env-file (dotenv format) then --env NAME=value, which wins. */
export function jobEnvironment(envFile: string | undefined, pairs: readonly string[]): Record<string, string> {
  let fromFile: Record<string, string> = {}
  // Read strictly (src/config/env-file.ts): a bad line, a binary or non-regular file is refused.
  if (envFile !== undefined) fromFile = readEnvFile(envFile)
  const env = {...fromFile, ...parseEnvPairs(pairs)}
  for (const value of Object.values(env)) registerSecret(value)
  return env
}
