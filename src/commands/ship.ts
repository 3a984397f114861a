import {Args} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import type {ShipOutcome} from '../sites/ship-job.js'
import {locateJob} from '../sites/locate-job.js'
import {validateJobName} from '../jobs/names.js'
import type {Where} from '../sites/sites.js'

export default class Ship extends OrchCommand {
  static override summary = "Ship a job's log to CloudWatch Logs (one stream per job); shipping again sends only what is missing"
  static override description = 'Read it back with orch logs NAME --source cloudwatch, even after the host is gone. Jobs run with --cloudwatch are shipped automatically when orch logs -f or orch run --wait sees them end.'
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {...hostFlags, where: whereFlag}

  async run(): Promise<ShipOutcome> {
    const {args, flags} = await this.parse(Ship)
    const name = validateJobName(args.name)
    const config = configFromFlags(flags)
    const {site} = await locateJob(config, name, flags.where as Where | undefined)
    try {
      const {shipJobLog} = await import('../sites/ship-job.js')
      const outcome = await shipJobLog(config, site, name)
      this.say(() => `${name}: ${outcome.eventsSent} event(s) sent in ${outcome.batches} batch(es), ${outcome.skipped} already there → ${outcome.group}/${outcome.stream}${outcome.complete ? '' : ' (job still running; ship again later)'}`)
      return outcome
    } finally {
      await site.close()
    }
  }
}
