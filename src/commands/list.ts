import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {closeAll, sitesToList} from '../jobs/job-sites.js'
import {type JobEntry, listJobs, toJobJson} from '../jobs/list-jobs.js'
import type {JobRecord} from '../jobs/job-record.js'
import type {Where} from '../jobs/sites.js'
import {formatList} from '../output/format-jobs.js'

export default class List extends OrchCommand {
  static override summary = 'Every job in history (the log directories), newest first, with state and exit code'
  static override flags = {...hostFlags, where: whereFlag}

  async run(): Promise<JobRecord[]> {
    const {flags} = await this.parse(List)
    const sites = await sitesToList(configFromFlags(flags), flags.where as Where | undefined)
    let jobs: JobEntry[]
    try {
      jobs = await listJobs(sites)
    } finally {
      await closeAll(sites)
    }
    this.say(formatList(jobs))
    return jobs.map(toJobJson)
  }
}
