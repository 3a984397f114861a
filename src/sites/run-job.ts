import type {OrchConfig} from '../config/config.js'
import type {Progress} from '../terminal/progress.js'
import type {JobProfile, Reason} from '../routing/profile.js'
import {route} from '../routing/route.js'
import {readLog} from '../jobs/follow-log.js'
import {type ApprovalHold, type JobPricing, type JobSpec, commandText, createJob} from '../jobs/start-job.js'
import {type JobSite} from '../jobs/site.js'
import {siteFor} from './sites.js'
import {hourlyPriceFor} from './host-price.js'
import {type ApprovalPolicy, type EstimatedCost, approvalFrom, approvalNeeded, estimateCost} from '../routing/cost.js'
import {usageError} from '../errors/errors.js'
import type {JobStateName} from '../jobs/state.js'
import type {SyncSource} from '../sync/source.js'
import type {SyncReport} from '../sync/sync.js'

export interface RunRequest {
  spec: JobSpec
  profile: JobProfile
  where: 'auto' | 'cloud' | 'local'
  /** Follow a cloud job's log until it ends and report its status. */
  wait: boolean
  /** Keep stdout for one JSON document: job output goes to stderr (local) or is not streamed (cloud). */
  quiet: boolean
  /** Bound on starting a stopped EC2 instance and waiting for its SSH port (default 5 min). */
  startTimeoutMs?: number
  /** orch run --sync: mirror this tree to the host first; the job runs in the copy. */
  sync?: SyncSource
  /** A job on ORCH_HOST is one Slurm batch job submitted with these sbatch options (ORCH_SCHEDULER=slurm). */
  sbatchOptions?: readonly string[]
  /**
   * A local job too runs in a detached tmux session and this returns once it started, as for a
   * cloud job (orch mcp: a tool call never holds a job in its foreground).
   */
  detached?: boolean
  /** The approval gate (ORCH_MAX_COST / --max-cost, ORCH_APPROVAL); `approved`: --approve, a yes given in advance. */
  approval?: ApprovalPolicy & {approved: boolean}
}

/** A job held for approval: why, and the commands that decide. */
export interface ApprovalRequest {
  why: string
  approve: string
  refuse: string
}

export interface RunOutcome {
  name: string
  target: 'cloud' | 'local'
  host: string
  state: JobStateName
  logPath: string
  reasons: Reason[]
  /** What runs the job: here in the foreground, a tmux session on the host, or Slurm. */
  scheduler: 'local' | 'tmux' | 'slurm'
  /** The job's status when it was waited for (always for local jobs), else null. */
  exitCode: number | null
  /** What --sync sent (cloud jobs). */
  sync?: SyncReport
  /** `approval`: the job waits on its host, QUEUED, for orch approve NAME (it was not started). */
  waitingFor: 'approval' | null
  /** Price per hour × runtime estimate; null when unknown, and estimatedCostReason says why. */
  estimatedCost: EstimatedCost | null
  estimatedCostReason: string | null
  /** Set when the job waits for approval. */
  approval: ApprovalRequest | null
}

export interface RunUi {
  progress: Progress
  /** Called once the job runs, before any waiting: print how to follow or attach. */
  started(outcome: RunOutcome): void
  /** Job output while waiting (cloud --wait). */
  write(chunk: Buffer): Promise<void> | void
  /** Ends the wait early (stdout's reader left); the job keeps running. */
  stopWaiting?: AbortSignal
  onReconnect?(attempt: number, delayMs: number, error: Error): void
  /** A problem that does not change the job's outcome (e.g. CloudWatch shipping failed). */
  warn(message: string): void
}

/** Route the job (unless --where says), then start it there; optionally wait for its end. */
export async function runJob(config: OrchConfig, request: RunRequest, ui: RunUi): Promise<RunOutcome> {
  commandText(request.spec.argv) // refuse an empty command before connecting anywhere
  const decision = route(request.profile, config.thresholds)
  const target = request.where === 'auto' ? decision.target : request.where
  const service = request.spec.service
  if (target === 'local' && service && service.restart !== 'no') {
    // In the foreground here, Ctrl-C would only end one run and the next would start.
    throw usageError(`--${service.onBoot ? 'on-boot' : 'restart'} is for a service on the cloud host; this job would run here, in the foreground`, 'add --where cloud')
  }
  if (request.sbatchOptions !== undefined && service) {
    throw usageError('--restart, --max-memory and --on-boot are for jobs in tmux sessions, not Slurm batch jobs', 'drop them (Slurm holds memory with --memory, requeues with --sbatch-opt=--requeue), or give --scheduler tmux')
  }
  const reasons: Reason[] =
    request.where === 'auto'
      ? decision.reasons
      : [{code: 'where-forced', message: `--where ${target} given${decision.target === target ? '' : `; the rules say ${decision.target}`}`, inferred: false}]

  if (target === 'cloud' && config.hourlyPrice === undefined) ui.progress.update('looking up the host\'s price…')
  const {cost, spec, holdWhy} = await priceJob(config, target, request)
  const priced: RunRequest = {...request, spec}
  if (holdWhy !== null && request.sbatchOptions !== undefined) {
    // The gate holds a job in its wrapper on the host; a Slurm job's wrapper would hold an allocation while it waits.
    throw usageError(`${request.spec.name} must wait for approval (${holdWhy}), which a Slurm batch job cannot do yet`, 'approve it in advance with --approve, raise --max-cost, or give --scheduler tmux')
  }

  ui.progress.update(target === 'cloud' ? 'connecting to the cloud host…' : 'starting locally…')
  const site = await siteFor(target, config, {progress: ui.progress, startInstance: true, startTimeoutMs: priced.startTimeoutMs})
  try {
    // Loaded only for --sync: tar-stream and the ignore rules would cost every other run start-up time.
    const synced = priced.sync ? await (await import('../sync/sync.js')).syncBeforeJob(site, priced.sync, priced.spec, ui) : undefined
    const req = synced ? {...priced, spec: synced.spec} : priced
    const outcome =
      target === 'local' && !req.detached
        ? await runLocal(site, req, reasons, ui, cost)
        : holdWhy !== null
          ? await holdCloud(site, req, reasons, cost, holdWhy)
          : await runInTmux(config, site, req, reasons, ui, cost)
    return synced?.report ? {...outcome, sync: synced.report} : outcome
  } finally {
    ui.progress.stop()
    await site.close()
  }
}

type OutcomeCost = Pick<RunOutcome, 'estimatedCost' | 'estimatedCostReason' | 'waitingFor' | 'approval'>

/**
 * The job's estimated cost, the price and estimate recorded with it on its host (orch list's cost
 * and orch status's ETA need them, even without an estimate), and why it must wait for approval
 * (null: it may start).
 */
async function priceJob(config: OrchConfig, target: 'cloud' | 'local', request: RunRequest): Promise<{cost: OutcomeCost; spec: JobSpec; holdWhy: string | null}> {
  const price = await hourlyPriceFor(config, target)
  const runtimeMs = request.profile.runtimeMs
  const estimate = estimateCost(target, runtimeMs, price, config.currency)
  // Without a policy of the caller's (orch mcp), the configured gate holds: only a person's --approve skips it.
  const approval = request.approval ?? approvalFrom({}, config)
  const holdWhy = approval.approved ? null : approvalNeeded(estimate, approval)
  const pricing: JobPricing = {
    ...('price' in price ? {hourlyPrice: price.price.amount, currency: price.price.currency, priceBasis: price.price.basis} : {}),
    ...(runtimeMs === undefined ? {} : {runtimeEstimateSeconds: Math.round(runtimeMs / 1000)}),
  }
  const hold: ApprovalHold | undefined =
    holdWhy === null ? undefined : {estimatedAmount: estimate.estimatedCost?.amount ?? null, maxCost: approval.maxCost, currency: estimate.estimatedCost?.currency ?? config.currency}
  return {cost: {...estimate, waitingFor: null, approval: null}, spec: {...request.spec, pricing, ...(hold ? {hold} : {})}, holdWhy}
}

/** Over its cost limit: the job is created on the host waiting for approval, and not started. */
async function holdCloud(site: JobSite, request: RunRequest, reasons: Reason[], cost: OutcomeCost, why: string): Promise<RunOutcome> {
  await createJob(site, request.spec, 'tmux', site.host.label)
  const name = request.spec.name
  return {
    name,
    target: 'cloud',
    host: site.host.label,
    state: 'QUEUED',
    logPath: site.logPath(name),
    reasons,
    scheduler: 'tmux',
    exitCode: null,
    ...cost,
    waitingFor: 'approval',
    approval: {why, approve: `orch approve ${name}`, refuse: `orch stop ${name}`},
  }
}

/**
 * Starts the job in a detached tmux session (the cloud host's, or this machine's for a detached
 * local run), or submits it as a Slurm batch job, and follows it when asked.
 */
async function runInTmux(config: OrchConfig, site: JobSite, request: RunRequest, reasons: Reason[], ui: RunUi, cost: OutcomeCost): Promise<RunOutcome> {
  const slurm = request.sbatchOptions !== undefined
  ui.progress.update(`${slurm ? 'submitting' : 'starting'} ${request.spec.name} on ${site.host.label}…`)
  const jobDir = await createJob(site, request.spec, slurm ? 'slurm' : 'tmux', site.host.label, request.sbatchOptions)
  if (request.spec.service?.onBoot) await bootEntryOrStop(config, site, request.spec.name, jobDir)
  const outcome: RunOutcome = {
    name: request.spec.name,
    target: site.target,
    host: site.host.label,
    // Submitted: Slurm decides when it starts (orch status shows it QUEUED with Slurm's reason).
    state: slurm ? 'QUEUED' : 'RUNNING',
    logPath: site.logPath(request.spec.name),
    reasons,
    scheduler: slurm ? 'slurm' : 'tmux',
    exitCode: null,
    ...cost,
  }
  ui.progress.stop()
  ui.started(outcome)
  if (!request.wait) return outcome
  const result = await readLog(site, request.spec.name, {
    follow: true,
    write: request.quiet ? () => {} : ui.write,
    signal: ui.stopWaiting,
    onReconnect: ui.onReconnect,
  })
  if (request.spec.cloudwatch) await (await import('./ship-job.js')).shipAfterFollow(config, site, request.spec.name, ui.warn)
  // A service that ended for good on its own failed whatever its command's last status (restart-storm).
  if (request.spec.service && result.exitCode === 0) {
    const {jobInfo} = await import('../jobs/job-info.js')
    if ((await jobInfo(site, request.spec.name)).state === 'FAILED') return {...outcome, exitCode: 0, state: 'FAILED'}
  }
  return finish(outcome, result.exitCode)
}

/** A service that cannot be started at boot as asked is not left running as if it could. */
async function bootEntryOrStop(config: OrchConfig, site: JobSite, name: string, jobDir: string): Promise<void> {
  const {installBootEntry} = await import('../jobs/service.js')
  try {
    await installBootEntry(site, name, jobDir, {hostDir: config.hostDir, crontabCommand: config.crontab})
  } catch (error) {
    const {stopJob} = await import('../jobs/stop-job.js')
    await stopJob(site, name, 2).catch(() => undefined)
    throw error
  }
}

async function runLocal(site: JobSite, request: RunRequest, reasons: Reason[], ui: RunUi, cost: OutcomeCost): Promise<RunOutcome> {
  const dir = await createJob(site, request.spec, 'local', 'local')
  const outcome: RunOutcome = {name: request.spec.name, target: 'local', host: 'local', state: 'RUNNING', logPath: site.logPath(request.spec.name), reasons, scheduler: 'local', exitCode: null, ...cost}
  ui.progress.stop()
  ui.started(outcome)
  const code = await site.host.foreground(['/bin/sh', `${dir}/orch-wrapper.sh`, dir, 'local'], {stdoutToStderr: request.quiet})
  return finish(outcome, code)
}


function finish(outcome: RunOutcome, exitCode: number | null): RunOutcome {
  return {...outcome, exitCode, state: exitCode === 0 ? 'DONE' : 'FAILED'}
}
