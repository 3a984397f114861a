import {shellWord} from '../hosts/shell-words.js'
import {OrchError, usageError} from '../errors/errors.js'
import {formatMoney} from '../routing/cost.js'
import {SCRIPT_STATUS, controlScript, wrapperScript} from './host-scripts.js'
import {sbatchRefusal} from './slurm-options.js'
import type {JobMeta} from './job-record.js'
import {type ServicePolicy, serviceOptions} from './service.js'
import type {JobSite} from './site.js'

export interface JobSpec {
  name: string
  /** The command's words after `--`. */
  argv: readonly string[]
  env: Record<string, string>
  cwd?: string
  replace: boolean
  cloudwatch?: boolean
  guardrails?: Guardrails
  /** Default paths for orch pull (orch run --artifacts). */
  artifacts?: string[]
  /** A service: restarted by the wrapper on the host (orch run --restart, --max-memory). */
  service?: ServicePolicy
  /** What the job's cost and ETA are computed from; recorded with the job on its host. */
  pricing?: JobPricing
  /** Start it waiting for approval (orch approve) instead of running it. */
  hold?: ApprovalHold
}

/** The host's price and the runtime estimate, as meta.json keeps them (every client sees the same cost). */
export interface JobPricing {
  hourlyPrice?: number
  currency?: string
  priceBasis?: string
  runtimeEstimateSeconds?: number
}

/** Why a job waits for approval: its estimate (null: unknown) and the limit it is over (if any). */
export interface ApprovalHold {
  estimatedAmount: number | null
  maxCost?: number
  currency: string
}

/** What the wrapper does on the host around the command: the guardrails of `orch run` (README). */
export interface Guardrails {
  /** L2: re-runs after a non-zero exit, waiting retryDelaySeconds × backoff^n between attempts. */
  retries: number
  retryDelaySeconds: number
  backoff: number
  /** Jobs running at once on the host; more wait as QUEUED. 0: no limit. */
  maxParallel: number
  /** L4: where the end of the job is announced. */
  notify: 'slack' | 'stdout' | 'off'
  /** Secret: kept in a 0600 file on the host, never in argv, logs or JSON. */
  slackWebhookUrl?: string
  /** Bytes; 0: no cap. */
  maxLogSize: number
}

export const NO_GUARDRAILS: Guardrails = {retries: 0, retryDelaySeconds: 30, backoff: 2, maxParallel: 0, notify: 'off', maxLogSize: 0}

/** The wrapper's options file: KEY=value lines of numbers and words only (it is sourced by sh). */
function wrapperOptions(guardrails: Guardrails, hostLabel: string, hold?: ApprovalHold, service?: ServicePolicy): string {
  const safeLabel = hostLabel.replace(/[^A-Za-z0-9@.:_[\]-]/g, '')
  return [
    ...holdOptions(hold),
    ...(service ? serviceOptions(service) : []),
    `retries=${Math.trunc(guardrails.retries)}`,
    `retry_delay=${Math.trunc(guardrails.retryDelaySeconds)}`,
    `backoff=${Number(guardrails.backoff)}`,
    `max_parallel=${Math.trunc(guardrails.maxParallel)}`,
    `notify=${guardrails.notify}`,
    `max_log_size=${Math.trunc(guardrails.maxLogSize)}`,
    `host_label='${safeLabel}'`,
  ].join('\n')
}

/** The approval gate's options (orch-wrapper.sh): numbers and a currency code only. */
function holdOptions(hold: ApprovalHold | undefined): string[] {
  if (!hold) return []
  // "2.50", never a currency name or anything else sh would read as more than a word.
  const amount = (value: number) => formatMoney(value, '').trim().replace(/[^0-9.]/g, '')
  return [
    'hold=approval',
    `hold_cost=${hold.estimatedAmount === null ? 'unknown' : amount(hold.estimatedAmount)}`,
    `hold_limit=${hold.maxCost === undefined ? '' : amount(hold.maxCost)}`,
    `currency=${hold.currency.replace(/[^A-Za-z]/g, '').slice(0, 8)}`,
  ]
}

/**
 * One argument is a shell script, run exactly as typed (`orch run x -- 'make && ./deploy'`).
 * Several arguments are a command line whose words are kept exactly (`orch run x -- python t.py --name "my run"`).
 */
export function commandText(argv: readonly string[]): string {
  if (argv.length === 0) throw usageError('no command given', 'put the command after --, e.g. orch run my-job -- make build')
  if (argv.length === 1) return argv[0]!
  return argv.map((word) => shellWord(word)).join(' ')
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** KEY=VALUE pairs, validated before anything touches a host. */
export function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const key = eq > 0 ? pair.slice(0, eq) : ''
    if (!ENV_NAME.test(key)) throw usageError(`--env "${key || pair.split('=')[0]}" is not KEY=VALUE with a valid variable name`, 'use --env NAME=value (letters, digits and _, not starting with a digit)')
    env[key] = pair.slice(eq + 1)
  }
  return env
}

function envFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `export ${key}=${shellWord(value)}\n`)
    .join('')
}

/**
 * Create the job's directory on the site and start it: its tmux session (tmux), or one Slurm batch
 * job submitted with `sbatchOptions` (slurm). Returns the directory's absolute path on the site.
 * Nothing is left behind when this fails.
 */
export async function createJob(site: JobSite, spec: JobSpec, mode: 'tmux' | 'local' | 'slurm', hostLabel: string, sbatchOptions: readonly string[] = []): Promise<string> {
  const command = Buffer.from(commandText(spec.argv))
  const secrets = Buffer.from(envFile(spec.env))
  const guardrails = spec.guardrails ?? NO_GUARDRAILS
  const webhook = Buffer.from(guardrails.notify === 'slack' ? (guardrails.slackWebhookUrl ?? '') : '')
  const meta: JobMeta = {
    name: spec.name,
    command: command.toString(),
    target: site.target,
    host: hostLabel,
    createdAt: new Date().toISOString(),
    cwd: spec.cwd ?? null,
    envNames: Object.keys(spec.env),
    cloudwatch: spec.cloudwatch === true,
    ...(spec.artifacts?.length ? {artifacts: spec.artifacts} : {}),
    ...spec.pricing,
    ...(spec.service ? {service: spec.service} : {}),
  }
  const metaJson = Buffer.from(`${JSON.stringify(meta)}\n`)
  const wrapper = Buffer.from(wrapperScript())
  const result = await site.run(
    controlScript('start'),
    [
      spec.name,
      spec.replace ? '1' : '0',
      String(command.length),
      String(secrets.length),
      String(metaJson.length),
      spec.cwd ?? '',
      mode,
      String(wrapper.length),
      // A service runs for good: it never takes one of the host's parallel slots from batch jobs;
      // --max-parallel is Slurm's business for a Slurm job: no second queue.
      wrapperOptions(
        mode !== 'tmux' || spec.service?.restart === 'always' || spec.service?.restart === 'on-failure' ? {...guardrails, maxParallel: 0} : guardrails,
        hostLabel,
        mode === 'tmux' ? spec.hold : undefined,
        spec.service,
      ),
      String(webhook.length),
      sbatchOptions.join('\n'),
    ],
    Buffer.concat([command, secrets, webhook, metaJson, wrapper]),
  )
  const said = result.stdout.toString().trim()
  switch (result.code) {
    case SCRIPT_STATUS.ok:
      return said
    case SCRIPT_STATUS.tmuxMissing:
      throw new OrchError('hostSetup', `tmux is not installed on ${hostLabel}`, hostLabel === 'local' ? 'install it (sudo apt-get install -y tmux, or sudo dnf install -y tmux)' : `run orch host bootstrap (it installs tmux as root or with passwordless sudo, and says what to do when it cannot), or as root on ${hostLabel}: apt-get install -y tmux (dnf install -y tmux on Amazon Linux)`)
    case SCRIPT_STATUS.inUse:
      throw new OrchError('conflict', `job name ${spec.name} is in use by a job that has not finished`, `pick another name, or stop it first: orch stop ${spec.name}`)
    case SCRIPT_STATUS.exists:
      throw new OrchError('conflict', `job ${spec.name} already ran on ${hostLabel} and its log is kept`, `pick another name (orch run --stamp adds the time), or pass --replace to delete the old log`)
    case SCRIPT_STATUS.sessionFailed:
      throw new OrchError('hostSetup', `tmux could not start the session for ${spec.name}: ${said || result.stderr.trim()}`, 'check tmux on the host (tmux -V)')
    case SCRIPT_STATUS.noCwd:
      throw usageError(`--cwd ${spec.cwd} does not exist on ${hostLabel}`, 'give a directory that exists there')
    case SCRIPT_STATUS.rootUnwritable:
      throw new OrchError('hostSetup', `cannot create the job directory under ${said} on ${hostLabel}`, 'check ORCH_LOG_ROOT and its permissions')
    case SCRIPT_STATUS.noSpace: {
      // start.sh prints the path it could not write and the system's reason.
      const [path = '', why = ''] = said.split('\n')
      const what = /quota/i.test(why) ? 'disk quota exceeded' : !why || /space/i.test(why) ? 'disk full' : `cannot write (${why})`
      throw new OrchError('hostSetup', `${what} on ${hostLabel} at ${path}: ${spec.name} was not started`, 'free space there (orch prune deletes old job logs; df -h shows what is full), then run it again')
    }
    case SCRIPT_STATUS.slurmMissing:
      throw new OrchError('hostSetup', `sbatch is not installed on ${hostLabel}: it is not a Slurm login node`, 'point ORCH_HOST at the cluster\'s login node, or use ORCH_SCHEDULER=tmux')
    case SCRIPT_STATUS.slurmRefused:
      throw usageError(`Slurm refused ${spec.name}: ${sbatchRefusal(said)}`, 'fix the resources or sbatch options (see sinfo for partitions and nodes); nothing was submitted')
    default:
      throw new OrchError('failure', `starting ${spec.name} failed on ${hostLabel} (status ${result.code}): ${result.stderr.trim() || said}`, 'check the host with ssh, then retry')
  }
}
