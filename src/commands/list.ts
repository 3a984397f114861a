import {defineCommand} from '../cli/command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {listJobsAsJsonAt, listJobsAt} from '../sites/job-commands.js'
import {formatList} from '../output/format-jobs.js'

export default defineCommand({
  id: 'list',
  summary: 'Every job in history (the log directories), newest first, with state and exit code',
  flags: {...hostFlags, where: whereFlag},
  async run({flags}, io) {
    // A long list is printed from each record's JSON text, never held as objects (JsonJobList).
    if (io.json) return listJobsAsJsonAt(configFromFlags(flags), flags.where)
    const jobs = await listJobsAt(configFromFlags(flags), flags.where)
    io.say(() => formatList(jobs))
    return jobs
  },
})
