import type {OrchConfig} from '../config/config.js'
import type {Progress} from '../terminal/progress.js'
import type {JobProfile, Reason} from '../routing/profile.js'
import {route} from '../routing/route.js'
import {readLog} from '../jobs/follow-log.js'
import {type JobSpec, commandText, createJob} from '../jobs/start-job.js'
import {type JobSite} from '../jobs/site.js'
import {siteFor} from './sites.js'
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
  const reasons: Reason[] =
    request.where === 'auto'
      ? decision.reasons
      : [{code: 'where-forced', message: `--where ${target} given${decision.target === target ? '' : `; the rules say ${decision.target}`}`, inferred: false}]

  ui.progress.update(target === 'cloud' ? 'connecting to the cloud host…' : 'starting locally…')
  const site = await siteFor(target, config, {progress: ui.progress, startInstance: true, startTimeoutMs: request.startTimeoutMs})
  try {
    // Loaded only for --sync: tar-stream and the ignore rules would cost every other run start-up time.
    const synced = request.sync ? await (await import('../sync/sync.js')).syncBeforeJob(site, request.sync, request.spec, ui) : undefined
    const req = synced ? {...request, spec: synced.spec} : request
    const outcome = target === 'local' ? await runLocal(site, req, reasons, ui) : await runCloud(config, site, req, reasons, ui)
    return synced?.report ? {...outcome, sync: synced.report} : outcome
  } finally {
    ui.progress.stop()
    await site.close()
  }
}

async function runCloud(config: OrchConfig, site: JobSite, request: RunRequest, reasons: Reason[], ui: RunUi): Promise<RunOutcome> {
  const slurm = request.sbatchOptions !== undefined
  ui.progress.update(`${slurm ? 'submitting' : 'starting'} ${request.spec.name} on ${site.host.label}…`)
  await createJob(site, request.spec, slurm ? 'slurm' : 'tmux', site.host.label, request.sbatchOptions)
  const outcome: RunOutcome = {
    name: request.spec.name,
    target: 'cloud',
    host: site.host.label,
    // Submitted: Slurm decides when it starts (orch status shows it QUEUED with Slurm's reason).
    state: slurm ? 'QUEUED' : 'RUNNING',
    logPath: site.logPath(request.spec.name),
    reasons,
    scheduler: slurm ? 'slurm' : 'tmux',
    exitCode: null,
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
  return finish(outcome, result.exitCode)
}

async function runLocal(site: JobSite, request: RunRequest, reasons: Reason[], ui: RunUi): Promise<RunOutcome> {
  const dir = await createJob(site, request.spec, 'local', 'local')
  const outcome: RunOutcome = {name: request.spec.name, target: 'local', host: 'local', state: 'RUNNING', logPath: site.logPath(request.spec.name), reasons, scheduler: 'local', exitCode: null}
  ui.progress.stop()
  ui.started(outcome)
  const code = await site.host.foreground(['/bin/sh', `${dir}/orch-wrapper.sh`, dir, 'local'], {stdoutToStderr: request.quiet})
  return finish(outcome, code)
}


function finish(outcome: RunOutcome, exitCode: number | null): RunOutcome {
  return {...outcome, exitCode, state: exitCode === 0 ? 'DONE' : 'FAILED'}
}
