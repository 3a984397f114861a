import {defineCommand} from '../cli/command.js'
import {arg, flag, values} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {validateJobName} from '../jobs/names.js'
import {stopNamedJob} from '../sites/job-commands.js'
import {formatStop} from '../output/format-run.js'

export default defineCommand({
  id: 'stop',
  summary: 'Stop a job: its command gets TERM (KILL after --grace); state STOPPED; the log still ends with [EXIT: N]',
  args: {name: arg.required('job name')},
  flags: {
    ...hostFlags,
    grace: flag.option({description: 'seconds to wait after TERM before KILL', default: '10', parse: values.wholeNumber(0, 'a whole number of seconds')}),
    where: whereFlag,
  },
  async run({flags, args}, io) {
    const outcome = await stopNamedJob(configFromFlags(flags), validateJobName(args.name), {where: flags.where, graceSeconds: flags.grace})
    io.say(() => formatStop(outcome))
    return outcome
  },
})
