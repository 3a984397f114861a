import {defineCommand} from '../cli/command.js'
import {arg, flag, values} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {DURATION_FORMS} from '../config/units.js'
import {validateJobName} from '../jobs/names.js'
import {showJobLog} from '../sites/show-log.js'
import {writeOut} from '../terminal/stdout.js'

export default defineCommand({
  id: 'logs',
  summary: "Print a job's log; -f follows it until [EXIT: N] and exits with N",
  examples: ['<%= config.bin %> logs lros-backfill-20260216-1430', '<%= config.bin %> logs my-job -f', '<%= config.bin %> logs my-job --tail 50'],
  enableJsonFlag: false,
  args: {name: arg.required('job name')},
  flags: {
    ...hostFlags,
    follow: flag.boolean({char: 'f', description: 'keep printing new output until the job ends, then exit with its status'}),
    tail: flag.option({description: 'start with the last N lines', parse: values.wholeNumber(0, 'a line count')}),
    since: flag.option({description: `start with output written in the last DURATION (${DURATION_FORMS}); 2-second resolution`, parse: values.duration}),
    where: whereFlag,
    source: flag.option({
      description: 'read from the host (default) or from CloudWatch Logs (works after the host is gone)',
      options: ['host', 'cloudwatch'],
      default: 'host',
    }),
  },
  async run({flags, args}, io) {
    const name = validateJobName(args.name)
    const config = configFromFlags(flags)
    if (flags.source === 'cloudwatch') {
      const {printCloudWatchLog} = await import('../sites/ship-job.js')
      const lines = await printCloudWatchLog(config, name, writeOut)
      if (lines === 0) io.note(`no events for ${name} in CloudWatch ${config.cloudwatchGroup}`)
      return undefined
    }
    const exitCode = await showJobLog(config, name, {
      where: flags.where,
      follow: flags.follow,
      tailLines: flags.tail,
      sinceSeconds: flags.since === undefined ? undefined : Math.ceil(flags.since / 1000),
      onReconnect: (attempt, delay) => io.note(`connection lost; reconnecting in ${Math.round(delay / 100) / 10}s (attempt ${attempt})`),
      warn: (message) => io.note(message),
    })
    if (exitCode !== undefined) process.exitCode = exitCode
    return undefined
  },
})
