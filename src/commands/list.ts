import {defineCommand} from '../cli/command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {listJobsAt} from '../sites/job-commands.js'
import {formatList} from '../output/format-jobs.js'

export default defineCommand({
  id: 'list',
  summary: 'Every job in history (the log directories), newest first, with state and exit code',
  flags: {...hostFlags, where: whereFlag},
  async run({flags}, io) {
    const jobs = await listJobsAt(configFromFlags(flags), flags.where)
    io.say(() => formatList(jobs))
    return jobs
  },
})
