import {defineCommand} from '../../cli/command.js'
import {arg, flag} from '../../cli/flags.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {DURATION_FORMS, parseDuration} from '../../config/units.js'
import {usageError} from '../../errors/errors.js'
import {formatCron} from '../../output/format-maintenance.js'

export default defineCommand({
  id: 'host:autostop',
  summary: 'Shut the host down after it has been idle (no job, no SSH session) for a while',
  description:
    'Installs a cron line on the host running scripts/cloud/autostop-check.sh every minute. It never stops a host with a running or queued job. The shutdown command is ORCH_AUTOSTOP_SHUTDOWN_CMD (default: sudo shutdown -h now; an EC2 instance then stops, so it costs nothing).',
  examples: ['<%= config.bin %> host autostop 30m', '<%= config.bin %> host autostop --off'],
  args: {idle: arg.optional(`idle time before shutdown (${DURATION_FORMS})`)},
  flags: {...hostFlags, off: flag.boolean({description: 'remove the idle check'})},
  async run({flags, args}, io) {
    if (flags.off === (args.idle !== undefined)) throw usageError('give either an idle time (e.g. 30m) or --off', 'e.g. orch host autostop 30m')
    let idle: number | 'off' = 'off'
    if (args.idle !== undefined) {
      const ms = parseDuration(args.idle)
      if (ms === undefined || ms < 60_000) throw usageError(`idle time "${args.idle}" is not a duration of at least 1m`, `use ${DURATION_FORMS}`)
      idle = ms
    }
    const {setAutostop} = await import('../../sites/host-lifecycle.js')
    const outcome = await setAutostop(configFromFlags(flags), idle)
    io.say(() => formatCron(outcome))
    return outcome
  },
})
