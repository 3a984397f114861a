import type {OrchConfig} from '../config/config.js'
import {OrchError} from '../errors/errors.js'
import {type ApproveOutcome, approveJob} from '../jobs/approve-job.js'
import {attachJob} from '../jobs/attach-job.js'
import {type CronOutcome, RETENTION_MARKER, manageCronLine} from '../jobs/cron-lines.js'
import type {JsonJobList} from '../jobs/job-record.js'
import {type JobEntry, listJobs, listJobsAsJson} from '../jobs/list-jobs.js'
import {type PruneOutcome, pruneJobs} from '../jobs/prune-jobs.js'
import {type RollbackPlan, applyRollback, planRollback} from '../jobs/rollback-job.js'
import {type StopOutcome, stopJob} from '../jobs/stop-job.js'
import {withListedSites} from './job-sites.js'
import {withJobSite} from './locate-job.js'
import {type Where, siteFor} from './sites.js'

/**
 * The core of each job command that acts on a site found by where or by the job's name: the
 * command file parses and renders, this finds the site(s), does the job logic (jobs/) and closes
 * the connection. run, logs, pull and ship have their own modules (run-job, show-log, pull-job,
 * ship-job).
 */

/** orch list and orch status: the jobs on this machine and the cloud host (or only `where`), newest first. */
export function listJobsAt(config: OrchConfig, where: Where | undefined, options: {unfinishedOnly?: boolean} = {}): Promise<JobEntry[]> {
  return withListedSites(config, where, (sites) => listJobs(sites, options))
}

/** orch list --json: listJobsAt's records as the JSON texts printed (see JsonJobList). */
export function listJobsAsJsonAt(config: OrchConfig, where: Where | undefined): Promise<JsonJobList> {
  return withListedSites(config, where, (sites) => listJobsAsJson(sites))
}

/** orch stop: find the job (here or on the cloud host) and end it. */
export function stopNamedJob(config: OrchConfig, name: string, options: {where?: Where; graceSeconds: number}): Promise<StopOutcome> {
  return withJobSite(config, name, options.where, (site) => stopJob(site, name, options.graceSeconds))
}

/** orch approve: find the job (here or on the cloud host) and let it start. */
export function approveNamedJob(config: OrchConfig, name: string, where?: Where): Promise<ApproveOutcome> {
  return withJobSite(config, name, where, (site) => approveJob(site, name))
}

/** orch attach: find the job and attach this terminal to its session; the status to exit with. */
export function attachNamedJob(config: OrchConfig, name: string): Promise<number> {
  return withJobSite(config, name, undefined, (site) => attachJob(site, name))
}

/** orch prune: on this machine and the cloud host (or only `where`), one site after the other. */
export function pruneJobsAt(config: OrchConfig, where: Where | undefined, options: {olderThanDays?: number; dryRun: boolean}): Promise<PruneOutcome[]> {
  return withListedSites(config, where, async (sites) => {
    const outcomes: PruneOutcome[] = []
    for (const site of sites) outcomes.push(await pruneJobs(site, {olderThanDays: options.olderThanDays ?? config.logRetentionDays, dryRun: options.dryRun}))
    return outcomes
  })
}

export interface RollbackRequest {
  where?: Where
  dryRun: boolean
  /** Told the plan before anything changes. */
  show: (plan: RollbackPlan) => void
  /** Shown the plan; says whether to go ahead (a person's yes, or --yes). */
  confirm: (plan: RollbackPlan) => Promise<boolean>
}

/** orch rollback: plan, show, ask, then reset the job's work tree to the commit it started from. */
export function rollbackNamedJob(config: OrchConfig, name: string, request: RollbackRequest): Promise<RollbackPlan & {applied: boolean}> {
  return withJobSite(config, name, request.where, async (site) => {
    const plan = await planRollback(site, name)
    request.show(plan)
    if (request.dryRun) return {...plan, applied: false}
    if (!(await request.confirm(plan))) throw new OrchError('failure', 'rollback cancelled; nothing changed')
    await applyRollback(site, name)
    return {...plan, applied: true}
  })
}

/** orch cron: the retention line in the crontab of the cloud host or of this machine. */
export async function manageRetentionCron(config: OrchConfig, where: Where, action: CronOutcome['action']): Promise<CronOutcome> {
  const site = await siteFor(where, config)
  try {
    return await manageCronLine(site, action, {
      marker: RETENTION_MARKER,
      crontabCommand: config.crontab,
      hostDir: config.hostDir,
      env: {ORCH_LOG_ROOT: site.logRoot, ORCH_LOG_RETENTION_DAYS: String(config.logRetentionDays)},
    })
  } finally {
    await site.close()
  }
}
