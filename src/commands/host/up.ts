import {Flags} from '@oclif/core'

import {OrchCommand} from '../../cli/base-command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {DURATION_FORMS, parseDuration} from '../../config/units.js'
import {usageError} from '../../errors/errors.js'
import {startProgress} from '../../terminal/progress.js'

export default class HostUp extends OrchCommand {
  static override summary = 'Start the EC2 instance if it is stopped and wait until it accepts SSH'
  static override flags = {
    ...hostFlags,
    'start-timeout': Flags.string({description: `how long to wait for the instance and its SSH port (${DURATION_FORMS})`, default: '5m'}),
  }

  async run(): Promise<{instanceId: string | null; address: string}> {
    const {flags} = await this.parse(HostUp)
    const startTimeoutMs = parseDuration(flags['start-timeout'])
    if (startTimeoutMs === undefined) throw usageError(`--start-timeout "${flags['start-timeout']}" is not a duration`, `use ${DURATION_FORMS}`)
    const config = configFromFlags(flags)
    const progress = await startProgress('looking up the instance…')
    const {hostUp} = await import('../../sites/host-lifecycle.js')
    try {
      const result = await hostUp(config, {progress, startTimeoutMs})
      progress.stop()
      this.say(() => `${result.instanceId ?? 'instance'} is running at ${result.address} and accepts SSH`)
      return result
    } finally {
      progress.stop()
    }
  }
}
