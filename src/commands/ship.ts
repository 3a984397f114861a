import {defineCommand} from '../cli/command.js'
import {arg} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {validateJobName} from '../jobs/names.js'
import {formatShipped} from '../output/format-run.js'

export default defineCommand({
  id: 'ship',
  summary: "Ship a job's log to CloudWatch Logs (one stream per job); shipping again sends only what is missing",
  description: 'Read it back with orch logs NAME --source cloudwatch, even after the host is gone. Jobs run with --cloudwatch are shipped automatically when orch logs -f or orch run --wait sees them end.',
  args: {name: arg.required('job name')},
  flags: {...hostFlags, where: whereFlag},
  async run({flags, args}, io) {
    const {shipNamedJob} = await import('../sites/ship-job.js')
    const outcome = await shipNamedJob(configFromFlags(flags), validateJobName(args.name), flags.where)
    io.say(() => formatShipped(outcome))
    return outcome
  },
})
