import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../../cli/base-command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {DURATION_FORMS, parseDuration} from '../../config/units.js'
import {usageError} from '../../errors/errors.js'
import {formatCron} from '../../output/format-maintenance.js'

export default class HostAutostop extends OrchCommand {
  static override summary = 'Shut the host down after it has been idle (no job, no SSH session) for a while'
  static override description =
    'Installs a cron line on the host running scripts/cloud/autostop-check.sh every minute. It never stops a host with a running or queued job. The shutdown command is ORCH_AUTOSTOP_SHUTDOWN_CMD (default: sudo shutdown -h now; an EC2 instance then stops, so it costs nothing).'
  static override examples = ['<%= config.bin %> host autostop 30m', '<%= config.bin %> host autostop --off']
  static override args = {idle: Args.string({description: `idle time before shutdown (${DURATION_FORMS})`, required: false})}
  static override flags = {...hostFlags, off: Flags.boolean({description: 'remove the idle check'})}

  async run() {
    const {args, flags} = await this.parse(HostAutostop)
    if (Boolean(flags.off) === Boolean(args.idle)) throw usageError('give either an idle time (e.g. 30m) or --off', 'e.g. orch host autostop 30m')
    let idle: number | 'off' = 'off'
    if (args.idle) {
      const ms = parseDuration(args.idle)
      if (ms === undefined || ms < 60_000) throw usageError(`idle time "${args.idle}" is not a duration of at least 1m`, `use ${DURATION_FORMS}`)
      idle = ms
    }
    const {setAutostop} = await import('../../sites/host-lifecycle.js')
    const outcome = await setAutostop(configFromFlags(flags), idle)
    this.say(() => formatCron(outcome))
    return outcome
  }
}
