import type {OrchConfig} from '../config/config.js'
import {readEnvFile} from '../config/env-file.js'
import {type Guardrails, parseEnvPairs} from '../jobs/start-job.js'
import {sbatchOptions} from '../jobs/slurm-options.js'
import {configError, usageError} from '../errors/errors.js'
import {registerSecret} from '../errors/redact.js'
import {flag, values} from './flags.js'

/** The guardrail flags of `orch run`, each value checked as it is parsed. */
export const guardrailFlags = {
  retries: flag.option({description: 'L2: re-run on a non-zero exit this many times, on the host', helpGroup: 'GUARDRAILS', parse: values.wholeNumber(0)}),
  'retry-delay': flag.option({description: 'wait before the first retry (default 30s)', helpGroup: 'GUARDRAILS', parse: values.duration}),
  backoff: flag.option({
    description: 'multiply the wait by this after each retry (default 2)',
    helpGroup: 'GUARDRAILS',
    parse: (text, name) => {
      if (!/^\d+(\.\d+)?$/.test(text) || Number(text) < 1) throw usageError(`${name} "${text}" is not a factor of at least 1`, `e.g. ${name} 2 (each wait twice the last)`)
      return Number(text)
    },
  }),
  'max-parallel': flag.option({description: 'jobs running at once on the host (default ORCH_MAX_PARALLEL, 4); more wait QUEUED', helpGroup: 'GUARDRAILS', parse: values.wholeNumber(1)}),
  notify: flag.boolean({description: 'L4: announce the end (Slack with ORCH_SLACK_WEBHOOK_URL, else stdout); ORCH_NOTIFY sets it always', helpGroup: 'GUARDRAILS'}),
  'max-log-size': flag.option({
    description: 'cap run.log (e.g. 1G): older output moves to run.log.1',
    helpGroup: 'GUARDRAILS',
    parse: values.size(),
  }),
}

export interface GuardrailFlagValues {
  retries?: number
  'retry-delay'?: number
  backoff?: number
  'max-parallel'?: number
  notify?: boolean
  'max-log-size'?: number
}

/** Guardrails from flags over configuration; every bad value is refused before any host is touched. */
export function guardrailsFrom(flags: GuardrailFlagValues, config: OrchConfig): Guardrails {
  let notify: Guardrails['notify'] = config.notify
  if (flags.notify && notify === 'off') notify = config.slackWebhookUrl ? 'slack' : 'stdout'
  if (notify === 'slack' && !config.slackWebhookUrl) {
    throw configError('Slack notification asked for but ORCH_SLACK_WEBHOOK_URL is not set', 'set it in scripts/cloud/.env, or use ORCH_NOTIFY=stdout')
  }
  return {
    retries: flags.retries ?? 0,
    retryDelaySeconds: flags['retry-delay'] === undefined ? 30 : Math.round(flags['retry-delay'] / 1000),
    backoff: flags.backoff ?? 2,
    maxParallel: flags['max-parallel'] ?? config.maxParallel,
    notify,
    slackWebhookUrl: config.slackWebhookUrl,
    maxLogSize: flags['max-log-size'] ?? config.maxLogSize ?? 0,
  }
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

/** The flags of `orch run` for a job on a Slurm cluster (ORCH_SCHEDULER=slurm or --scheduler slurm). */
export const slurmFlags = {
  scheduler: flag.option({
    description: 'what runs the job on ORCH_HOST: tmux (a session on the host) or slurm (a batch job on the cluster; ORCH_HOST is its login node); default ORCH_SCHEDULER',
    options: ['tmux', 'slurm'],
    helpGroup: 'SLURM',
    parse: (text) => text as 'tmux' | 'slurm',
  }),
  cpus: flag.option({description: 'CPUs for the job (sbatch --cpus-per-task)', helpGroup: 'SLURM', parse: values.wholeNumber(1, 'a CPU count')}),
  gpus: flag.option({description: 'GPUs for the job (sbatch --gpus)', helpGroup: 'SLURM', parse: values.wholeNumber(1, 'a GPU count')}),
  mem: flag.option({
    description: 'memory for the job (sbatch --mem; default the --memory estimate)',
    helpGroup: 'SLURM',
    parse: values.size(1),
  }),
  partition: flag.option({description: 'Slurm partition (default ORCH_SLURM_PARTITION, else the cluster\'s default)', helpGroup: 'SLURM'}),
  'sbatch-opt': flag.multiple({description: 'one more sbatch option, e.g. --sbatch-opt=--qos=long (repeatable; after ORCH_SLURM_OPTS)', helpGroup: 'SLURM'}),
}

export interface SlurmFlagValues {
  scheduler?: 'tmux' | 'slurm'
  cpus?: number
  gpus?: number
  mem?: number
  partition?: string
  'sbatch-opt'?: string[]
  memory?: number | 'unknown'
  runtime?: number
}

/**
 * The sbatch options of a Slurm job (undefined for a tmux job), every value checked before any host
 * is touched. Slurm's flags on a tmux job are refused: they would silently do nothing.
 */
export function slurmOptionsFrom(flags: SlurmFlagValues, config: OrchConfig): string[] | undefined {
  const scheduler = flags.scheduler ?? config.scheduler
  if (scheduler !== 'slurm') {
    const given = (['cpus', 'gpus', 'mem', 'partition', 'sbatch-opt'] as const).find((name) => flags[name] !== undefined)
    if (given !== undefined) throw usageError(`--${given} is for Slurm jobs`, 'add --scheduler slurm (or set ORCH_SCHEDULER=slurm), or leave it out')
    return undefined
  }
  const memory = flags.mem ?? (typeof flags.memory === 'number' ? flags.memory : undefined)
  return sbatchOptions({
    ...(memory === undefined ? {} : {memoryBytes: memory}),
    ...(flags.runtime === undefined ? {} : {runtimeMs: flags.runtime}),
    ...(flags.cpus === undefined ? {} : {cpus: flags.cpus}),
    ...(flags.gpus === undefined ? {} : {gpus: flags.gpus}),
    ...((flags.partition ?? config.slurmPartition) === undefined ? {} : {partition: flags.partition ?? config.slurmPartition}),
    ...(config.slurmAccount === undefined ? {} : {account: config.slurmAccount}),
    ...(config.slurmOptions === undefined ? {} : {optionsText: config.slurmOptions}),
    options: flags['sbatch-opt'] ?? [],
  })
}
