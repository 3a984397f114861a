import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {closeAll, sitesToList} from '../jobs/job-sites.js'
import {type JobEntry, toJobJson, unfinishedJobs} from '../jobs/list-jobs.js'
import type {JobRecord} from '../jobs/job-record.js'
import type {Where} from '../jobs/sites.js'
import {formatStatus} from '../output/format-jobs.js'

export default class Status extends OrchCommand {
  static override summary = 'Jobs not finished (QUEUED, STARTING, RUNNING) with elapsed time, here and on the cloud host'
  static override flags = {...hostFlags, where: whereFlag}

  async run(): Promise<JobRecord[]> {
    const {flags} = await this.parse(Status)
    const sites = await sitesToList(configFromFlags(flags), flags.where as Where | undefined)
    let jobs: JobEntry[]
    try {
      jobs = await unfinishedJobs(sites)
    } finally {
      await closeAll(sites)
    }
    this.say(formatStatus(jobs))
    return jobs.map(toJobJson)
  }
}
