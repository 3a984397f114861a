import type {OrchConfig} from '../config/config.js'
import {readLog} from '../jobs/follow-log.js'
import {jobInfo} from '../jobs/job-info.js'
import type {JobSite} from '../jobs/site.js'
import {withJobSite} from './locate-job.js'
import type {Where} from './sites.js'
import {createLogsClient, logTextToEvents, readLog as readCloudWatchLog, shipLog, type ShipResult} from '../cloud/cloudwatch.js'

export interface ShipOutcome extends ShipResult {
  name: string
  group: string
  stream: string
  complete: boolean
}

/**
 * Ship a job's run.log to CloudWatch Logs: group ORCH_CLOUDWATCH_GROUP, one stream per job (its
 * name). Any client can do it at any time — `orch ship`, or the end of `logs -f` / `run --wait` —
 * and shipping again sends only what the stream lacks, so no client has to stay connected.
 */
export async function shipJobLog(config: OrchConfig, site: JobSite, name: string): Promise<ShipOutcome> {
  const info = await jobInfo(site, name)
  const chunks: Buffer[] = []
  await readLog(site, name, {follow: false, write: (chunk) => void chunks.push(chunk)})
  const complete = info.exit !== null
  const events = logTextToEvents(Buffer.concat(chunks), {startTime: info.startedAt ?? new Date(info.meta.createdAt), complete})
  const client = await createLogsClient(config.region)
  try {
    const result = await shipLog(client, {group: config.cloudwatchGroup, stream: name, events, alreadySent: info.cloudwatchShipped})
    await jobInfo(site, name, result.totalEvents)
    return {...result, name, group: config.cloudwatchGroup, stream: name, complete}
  } finally {
    client.destroy()
  }
}

/** Print a job's log from CloudWatch (works after the host is gone). */
export async function printCloudWatchLog(config: OrchConfig, name: string, write: (text: string) => Promise<void> | void): Promise<number> {
  const client = await createLogsClient(config.region)
  let lines = 0
  try {
    for await (const line of readCloudWatchLog(client, {group: config.cloudwatchGroup, stream: name})) {
      await write(`${line}\n`)
      lines += 1
    }
  } finally {
    client.destroy()
  }
  return lines
}

/** orch ship: find the job and ship what CloudWatch does not have yet. */
export function shipNamedJob(config: OrchConfig, name: string, where: Where | undefined): Promise<ShipOutcome> {
  return withJobSite(config, name, where, (site) => shipJobLog(config, site, name))
}

/**
 * Ship a finished job's log to CloudWatch. Failure is reported, never fatal: the log is still on
 * the host and `orch ship NAME` sends what is missing.
 */
export async function shipAfterFollow(config: OrchConfig, site: JobSite, name: string, warn: (message: string) => void): Promise<void> {
  try {
    const shipped = await shipJobLog(config, site, name)
    warn(`shipped ${shipped.eventsSent} new log event(s) of ${name} to CloudWatch ${shipped.group}/${shipped.stream}`)
  } catch (error) {
    warn(`could not ship ${name} to CloudWatch: ${(error as Error).message}; retry with orch ship ${name}`)
  }
}
