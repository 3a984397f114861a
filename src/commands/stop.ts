import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {locateJob} from '../jobs/locate-job.js'
import {validateJobName} from '../jobs/names.js'
import type {Where} from '../jobs/sites.js'
import {type StopOutcome, stopJob} from '../jobs/stop-job.js'
import {formatStop} from '../output/format-jobs.js'
import {usageError} from '../output/errors.js'

export default class Stop extends OrchCommand {
  static override summary = 'Stop a job: its command gets TERM (KILL after --grace); state STOPPED; the log still ends with [EXIT: N]'
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {
    ...hostFlags,
    grace: Flags.string({description: 'seconds to wait after TERM before KILL', default: '10'}),
    where: whereFlag,
  }

  async run(): Promise<StopOutcome> {
    const {args, flags} = await this.parse(Stop)
    const name = validateJobName(args.name)
    if (!/^\d+$/.test(flags.grace)) throw usageError(`--grace "${flags.grace}" is not a number of seconds`, 'use a whole number, e.g. --grace 10')
    const {site} = await locateJob(configFromFlags(flags), name, flags.where as Where | undefined)
    try {
      const outcome = await stopJob(site, name, Number(flags.grace))
      this.say(formatStop(outcome))
      return outcome
    } finally {
      await site.close()
    }
  }
}
