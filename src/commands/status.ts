import {defineCommand} from '../cli/command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {listJobsAt} from '../sites/job-commands.js'
import {formatStatus} from '../output/format-jobs.js'

export default defineCommand({
  id: 'status',
  summary: 'Jobs not finished (QUEUED, STARTING, RUNNING) with elapsed time, here and on the cloud host',
  flags: {...hostFlags, where: whereFlag},
  async run({flags}, io) {
    const jobs = await listJobsAt(configFromFlags(flags), flags.where, {unfinishedOnly: true})
    io.say(() => formatStatus(jobs))
    return jobs
  },
})
