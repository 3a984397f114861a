import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobEntry, JobRecordStream, JsonJobList, newestFirst} from './job-record.js'
import type {JobSite} from './site.js'

export type {JobEntry} from './job-record.js'

/** Every job on the given sites (only the unfinished ones with `unfinishedOnly`), newest first: one round trip per site. */
export async function listJobs(sites: readonly JobSite[], options: {unfinishedOnly?: boolean} = {}): Promise<JobEntry[]> {
  const perSite = await eachSite(sites, (site) => readRecords(site, options, new JobRecordStream(recordSite(site))))
  return perSite.flat().sort(newestFirst)
}

/**
 * `work` on every site at once, results in site order. The remote sites' requests leave first:
 * starting the local listing (a process spawned) holds this thread for milliseconds that the
 * round trip to the host can already be using.
 */
async function eachSite<T>(sites: readonly JobSite[], work: (site: JobSite) => Promise<T>): Promise<T[]> {
  const results = new Array<Promise<T>>(sites.length)
  sites.forEach((site, index) => {
    if (site.target !== 'local') results[index] = work(site)
  })
  if (sites.some((site) => site.target !== 'local')) await new Promise((resolve) => setImmediate(resolve))
  sites.forEach((site, index) => {
    if (site.target === 'local') results[index] = work(site)
  })
  return Promise.all(results)
}

/** listJobs as the JSON texts `orch list --json` prints (see JsonJobList): the same records, in the same order. */
export async function listJobsAsJson(sites: readonly JobSite[]): Promise<JsonJobList> {
  const perSite = await eachSite(sites, async (site) => {
    const list = new JsonJobList()
    await readRecords(site, {}, new JobRecordStream(recordSite(site), list.add))
    return list
  })
  // In site order, as listJobs' stable sort leaves jobs that started in the same second.
  return JsonJobList.joined(perSite)
}

const recordSite = (site: JobSite) => ({target: site.target, label: site.host.label, logPath: (name: string) => site.logPath(name)})

async function readRecords(site: JobSite, options: {unfinishedOnly?: boolean}, records: JobRecordStream): Promise<JobEntry[]> {
  const stderr: Buffer[] = []
  const code = await site.stream(controlScript('list'), options.unfinishedOnly ? ['unfinished'] : [], {
    onStdout: (chunk) => records.push(chunk),
    onStderr: (chunk) => void stderr.push(chunk),
  })
  if (code !== 0) {
    const said = Buffer.concat(stderr).toString().trim().split('\n').at(-1)
    const why =
      code === SCRIPT_STATUS.processTable
        ? 'its process table (ps) could not be read'
        : code === SCRIPT_STATUS.slurmMissing
          ? 'jobs there ran under Slurm, but squeue is not installed'
          : code === SCRIPT_STATUS.slurmUnreachable
            ? `Slurm did not answer (squeue: ${said || 'no message'})`
            : said || `status ${code}`
    throw new OrchError('failure', `listing jobs on ${site.host.label} failed: ${why}`, 'check the host with ssh; nothing was changed')
  }
  return records.end()
}

/** Jobs not finished: QUEUED, STARTING, RUNNING. */
export function unfinishedJobs(sites: readonly JobSite[]): Promise<JobEntry[]> {
  return listJobs(sites, {unfinishedOnly: true})
}
