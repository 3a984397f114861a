import {existsSync, readFileSync} from 'node:fs'
import {homedir, userInfo} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {createRequire} from 'node:module'

import {configError} from '../errors/errors.js'
import {registerSecret} from '../errors/redact.js'
import {SETTINGS, type ParsedValue, type SettingName, type SettingSpec, parseSetting} from './settings.js'

/** Where a setting's value came from, for messages (never the value itself when it is secret). */
export type Source = {kind: 'default'} | {kind: 'file'; path: string} | {kind: 'env'} | {kind: 'flag'; flag: string}

export interface RoutingThresholds {
  localMaxRuntimeMs: number
  cloudMinRuntimeMs: number
  cloudMemoryBytes: number
}

export interface OrchConfig {
  host?: string
  /** ORCH_SSH_CONFIG: the OpenSSH configuration ORCH_HOST is resolved through (like ssh -F). */
  sshConfig?: string
  user: string
  port: number
  sshKey?: string
  sshPassphrase?: string
  knownHosts: string
  acceptNewHostKey: boolean
  /** ORCH_CONTROL_PERSIST: idle milliseconds a connection holder lives (0: no holder). */
  controlPersistMs: number
  ec2InstanceId?: string
  ec2Tag?: {key: string; value: string}
  ec2UsePrivateIp: boolean
  region?: string
  cloudwatchGroup: string
  cloudwatch: 'always' | 'never' | 'flag'
  slackWebhookUrl?: string
  notify: 'slack' | 'stdout' | 'off'
  maxParallel: number
  logRetentionDays: number
  maxLogSize?: number
  /** ORCH_HOURLY_PRICE: the cloud host's price per hour, in `currency`. */
  hourlyPrice?: number
  currency: string
  /** ORCH_MAX_COST: a cloud job estimated over it waits for orch approve. */
  maxCost?: number
  /** ORCH_APPROVAL: `unknown` also holds a job whose cost cannot be estimated. */
  approval: 'over' | 'unknown'
  crontab: string
  autostopShutdownCommand: string
  hostDir: string
  logRoot: string
  localLogRoot: string
  tmuxSocket?: string
  /** ORCH_SCHEDULER: what runs a job on ORCH_HOST. */
  scheduler: 'tmux' | 'slurm'
  slurmPartition?: string
  slurmAccount?: string
  /** ORCH_SLURM_OPTS as written (split and checked when a job is submitted). */
  slurmOptions?: string
  thresholds: RoutingThresholds
  /** The file the settings were read from, if any. */
  file?: string
  sources: Partial<Record<SettingName, Source>>
}

export interface LoadOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Values given by command-line flags, keyed by the setting they override. */
  flags?: Partial<Record<SettingName, string | undefined>>
  /** Flag spelling for messages, keyed by setting. */
  flagNames?: Partial<Record<SettingName, string>>
}

const RELATIVE_CONFIG_PATH = join('scripts', 'cloud', '.env')

/**
 * `ORCH_CONFIG` when set; else the first `scripts/cloud/.env` found from `cwd` upward, stopping
 * at the git root (the directory holding `.git`) or the filesystem root.
 */
export function findConfigFile(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.ORCH_CONFIG) {
    const named = resolve(cwd, expandHome(env.ORCH_CONFIG, env))
    if (!existsSync(named)) throw configError(`ORCH_CONFIG names ${named}, which does not exist`, 'create it from .env.example or unset ORCH_CONFIG')
    return named
  }
  let dir = resolve(cwd)
  for (;;) {
    const candidate = join(dir, RELATIVE_CONFIG_PATH)
    if (existsSync(candidate)) return candidate
    if (existsSync(join(dir, '.git'))) return undefined
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env): string {
  if (path === '~') return env.HOME || homedir()
  if (path.startsWith('~/')) return join(env.HOME || homedir(), path.slice(2))
  return path
}

function describeSource(source: Source, variable: string): string {
  switch (source.kind) {
    case 'file':
      return `${variable} in ${source.path}`
    case 'env':
      return `environment variable ${variable}`
    case 'flag':
      return `flag ${source.flag}`
    case 'default':
      return `default of ${variable}`
  }
}

/** The password database's user name (USER and LOGNAME are unset under cron and in containers). */
function passwdUserName(): string {
  try {
    return userInfo().username
  } catch {
    return ''
  }
}

/** Whether a job's log goes to CloudWatch: --cloudwatch at run time, or ORCH_CLOUDWATCH=always. */
export function cloudwatchWanted(config: Pick<OrchConfig, 'cloudwatch'>, requested: boolean | undefined): boolean {
  if (config.cloudwatch === 'never') return false
  return config.cloudwatch === 'always' || requested === true
}

/** Reads settings with one precedence: flag, then environment, then file, then default. */
export function loadConfig(options: LoadOptions = {}): OrchConfig {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const file = findConfigFile(cwd, env)
  let fileValues: Record<string, string> = {}
  if (file) {
    try {
      // dotenv is CommonJS, and needed only when there is a file: required here, not imported.
      const {parse} = createRequire(import.meta.url)('dotenv') as typeof import('dotenv')
      fileValues = parse(readFileSync(file))
    } catch (error) {
      throw configError(`cannot read ${file}: ${(error as Error).message}`, 'check the file\'s permissions')
    }
  }

  const values = new Map<SettingName, ParsedValue>()
  const sources: Partial<Record<SettingName, Source>> = {}
  for (const spec of SETTINGS as readonly (SettingSpec & {variable: SettingName})[]) {
    const flagValue = options.flags?.[spec.variable]
    let raw: string | undefined
    let source: Source
    if (flagValue !== undefined) {
      raw = flagValue
      source = {kind: 'flag', flag: options.flagNames?.[spec.variable] ?? spec.variable}
    } else if (env[spec.variable] !== undefined && env[spec.variable] !== '') {
      raw = env[spec.variable]
      source = {kind: 'env'}
    } else if (fileValues[spec.variable] !== undefined && fileValues[spec.variable] !== '') {
      raw = fileValues[spec.variable]
      source = {kind: 'file', path: file!}
    } else {
      raw = spec.defaultValue
      source = {kind: 'default'}
    }
    if (raw === undefined) continue
    const parsed = parseSetting(spec, raw)
    if (!parsed.ok) {
      // A secret's text is never echoed, even when malformed.
      const shown = spec.secret ? '' : ` "${raw}"`
      throw configError(`invalid value${shown} for ${describeSource(source, spec.variable)}`, `expected ${parsed.form}`)
    }
    values.set(spec.variable, parsed.value)
    sources[spec.variable] = source
    if (spec.secret) registerSecret(String(parsed.value))
  }

  const text = (name: SettingName) => {
    const value = values.get(name)
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const num = (name: SettingName) => values.get(name) as number
  const bool = (name: SettingName) => values.get(name) === true

  return {
    host: text('ORCH_HOST'),
    sshConfig: text('ORCH_SSH_CONFIG') && resolve(cwd, expandHome(text('ORCH_SSH_CONFIG')!, env)),
    user: text('ORCH_USER') ?? (env.USER || env.LOGNAME || passwdUserName()),
    port: num('ORCH_PORT'),
    sshKey: text('ORCH_SSH_KEY') && expandHome(text('ORCH_SSH_KEY')!, env),
    sshPassphrase: text('ORCH_SSH_PASSPHRASE'),
    knownHosts: expandHome(text('ORCH_KNOWN_HOSTS')!, env),
    acceptNewHostKey: bool('ORCH_ACCEPT_NEW_HOST_KEY'),
    controlPersistMs: num('ORCH_CONTROL_PERSIST'),
    ec2InstanceId: text('ORCH_EC2_INSTANCE_ID'),
    ec2Tag: values.get('ORCH_EC2_TAG') as OrchConfig['ec2Tag'],
    ec2UsePrivateIp: bool('ORCH_EC2_USE_PRIVATE_IP'),
    region: text('AWS_REGION'),
    cloudwatchGroup: text('ORCH_CLOUDWATCH_GROUP')!,
    cloudwatch: text('ORCH_CLOUDWATCH') as OrchConfig['cloudwatch'],
    slackWebhookUrl: text('ORCH_SLACK_WEBHOOK_URL'),
    notify: text('ORCH_NOTIFY') as OrchConfig['notify'],
    maxParallel: num('ORCH_MAX_PARALLEL'),
    logRetentionDays: num('ORCH_LOG_RETENTION_DAYS'),
    maxLogSize: values.get('ORCH_MAX_LOG_SIZE') as number | undefined,
    hourlyPrice: values.get('ORCH_HOURLY_PRICE') as number | undefined,
    currency: text('ORCH_CURRENCY')!,
    maxCost: values.get('ORCH_MAX_COST') as number | undefined,
    approval: text('ORCH_APPROVAL') as OrchConfig['approval'],
    crontab: text('ORCH_CRONTAB')!,
    autostopShutdownCommand: text('ORCH_AUTOSTOP_SHUTDOWN_CMD')!,
    hostDir: text('ORCH_HOST_DIR')!,
    logRoot: text('ORCH_LOG_ROOT')!,
    localLogRoot: expandHome(text('ORCH_LOCAL_LOG_ROOT')!, env),
    tmuxSocket: text('ORCH_TMUX_SOCKET'),
    scheduler: text('ORCH_SCHEDULER') as OrchConfig['scheduler'],
    slurmPartition: text('ORCH_SLURM_PARTITION'),
    slurmAccount: text('ORCH_SLURM_ACCOUNT'),
    slurmOptions: text('ORCH_SLURM_OPTS'),
    thresholds: {
      localMaxRuntimeMs: num('ORCH_LOCAL_MAX_RUNTIME'),
      cloudMinRuntimeMs: num('ORCH_CLOUD_MIN_RUNTIME'),
      cloudMemoryBytes: num('ORCH_CLOUD_MEMORY'),
    },
    file,
    sources,
  }
}
