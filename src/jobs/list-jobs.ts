import {OrchError} from '../output/errors.js'
import {controlScript} from './host-scripts.js'
import {type JobRecord, parseJobList} from './job-record.js'
import type {JobSite} from './site.js'
import {type JobStatus, isFinished} from './state.js'

export type JobEntry = JobRecord & {status: JobStatus; createdAt: string}

/** Every job on the given sites, newest first: one script (one round trip) per site. */
export async function listJobs(sites: readonly JobSite[]): Promise<JobEntry[]> {
  const perSite = await Promise.all(
    sites.map(async (site) => {
      const result = await site.run(controlScript('list'))
      if (result.code !== 0) {
        throw new OrchError('failure', `listing jobs on ${site.host.label} failed (status ${result.code}): ${result.stderr.trim()}`, 'check the host with ssh')
      }
      return parseJobList(result.stdout.toString(), {target: site.target, label: site.host.label, logPath: (name) => site.logPath(name)})
    }),
  )
  return perSite.flat().sort((a, b) => (b.startedAt ?? b.createdAt).localeCompare(a.startedAt ?? a.createdAt))
}

/** Jobs not finished: QUEUED, STARTING, RUNNING. */
export async function unfinishedJobs(sites: readonly JobSite[]): Promise<JobEntry[]> {
  return (await listJobs(sites)).filter((job) => !isFinished(job.status))
}

/** The JSON shape of a job (the contract): drops internal fields. */
export function toJobJson(job: JobEntry): JobRecord {
  const {name, state, target, host, command, startedAt, endedAt, exitCode, logPath, attempts, queuePosition} = job
  return {name, state, target, host, command, startedAt, endedAt, exitCode, logPath, attempts, queuePosition}
}
