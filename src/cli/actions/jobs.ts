import {DURATION_FORMS, parseDuration} from '../../config/units.js'
import {readLog} from '../../jobs/follow-log.js'
import {closeAll, sitesToList} from '../../sites/job-sites.js'
import type {JobRecord} from '../../jobs/job-record.js'
import {type JobEntry, listJobs, toJobJson, unfinishedJobs} from '../../jobs/list-jobs.js'
import {locateJob} from '../../sites/locate-job.js'
import {validateJobName} from '../../jobs/names.js'
import {shipAfterFollow} from '../../sites/run-job.js'
import type {Where} from '../../sites/sites.js'
import {type StopOutcome, stopJob} from '../../jobs/stop-job.js'
import {OrchError, usageError} from '../../errors/errors.js'
import {formatList, formatStatus} from '../../output/format-jobs.js'
import {formatStop} from '../../output/format-run.js'
import {stdoutClosed, writeOut} from '../../terminal/stdout.js'
import {configFromFlags} from '../config-from-flags.js'
import type {Action} from './action.js'

interface SiteFlags {
  'accept-new-host-key'?: boolean
  where?: string
}

async function readJobs(flags: SiteFlags, read: typeof listJobs): Promise<JobEntry[]> {
  const sites = await sitesToList(configFromFlags(flags), flags.where as Where | undefined)
  try {
    return await read(sites)
  } finally {
    await closeAll(sites)
  }
}

export const statusAction: Action<SiteFlags> = async ({flags}, io): Promise<JobRecord[]> => {
  const jobs = await readJobs(flags, unfinishedJobs)
  io.say(() => formatStatus(jobs))
  return jobs.map(toJobJson)
}

export const listAction: Action<SiteFlags> = async ({flags}, io): Promise<JobRecord[]> => {
  const jobs = await readJobs(flags, listJobs)
  io.say(() => formatList(jobs))
  return jobs.map(toJobJson)
}

export const stopAction: Action<SiteFlags & {grace?: string}> = async ({flags, args}, io): Promise<StopOutcome> => {
  const name = validateJobName(args.name ?? '')
  const grace = flags.grace ?? '10'
  if (!/^\d+$/.test(grace)) throw usageError(`--grace "${grace}" is not a number of seconds`, 'use a whole number, e.g. --grace 10')
  const {site} = await locateJob(configFromFlags(flags), name, flags.where as Where | undefined)
  try {
    const outcome = await stopJob(site, name, Number(grace))
    io.say(() => formatStop(outcome))
    return outcome
  } finally {
    await site.close()
  }
}

interface LogsFlags extends SiteFlags {
  follow?: boolean
  tail?: string
  since?: string
  source?: string
}

export const logsAction: Action<LogsFlags> = async ({flags, args}, io): Promise<undefined> => {
  const name = validateJobName(args.name ?? '')
  let tailLines: number | undefined
  if (flags.tail !== undefined) {
    if (!/^\d+$/.test(flags.tail)) throw usageError(`--tail "${flags.tail}" is not a line count`, 'use a whole number, e.g. --tail 100')
    tailLines = Number(flags.tail)
  }
  let sinceSeconds: number | undefined
  if (flags.since !== undefined) {
    const ms = parseDuration(flags.since)
    if (ms === undefined) throw usageError(`--since "${flags.since}" is not a duration`, `use ${DURATION_FORMS}`)
    sinceSeconds = Math.ceil(ms / 1000)
  }
  const config = configFromFlags(flags)
  if (flags.source === 'cloudwatch') {
    const {printCloudWatchLog} = await import('../../sites/ship-job.js')
    const lines = await printCloudWatchLog(config, name, writeOut)
    if (lines === 0) io.note(`no events for ${name} in CloudWatch ${config.cloudwatchGroup}`)
    return undefined
  }
  const {site} = await locateJob(config, name, flags.where as Where | undefined)
  // Ctrl-C, or the reader of stdout leaving, stops reading only; the job is untouched.
  const stop = new AbortController()
  const onInterrupt = () => stop.abort()
  process.once('SIGINT', onInterrupt)
  stdoutClosed.addEventListener('abort', onInterrupt, {once: true})
  try {
    const result = await readLog(site, name, {
      follow: flags.follow === true,
      tailLines,
      sinceSeconds,
      write: writeOut,
      signal: stop.signal,
      onReconnect: (attempt, delay) => io.note(`connection lost; reconnecting in ${Math.round(delay / 100) / 10}s (attempt ${attempt})`),
    })
    if (stop.signal.aborted) {
      process.exitCode = 130
      return undefined
    }
    if (flags.follow) {
      if (result.shipToCloudWatch) await shipAfterFollow(config, site, name, (message) => io.note(message))
      if (result.vanished) throw new OrchError('failure', `job ${name} ended without an exit status (its session vanished: host reboot or tmux killed)`, `its state is FAILED; see orch list`)
      if (result.exitCode !== null) process.exitCode = result.exitCode
    }
    return undefined
  } finally {
    process.removeListener('SIGINT', onInterrupt)
    stdoutClosed.removeEventListener('abort', onInterrupt)
    await site.close()
  }
}
