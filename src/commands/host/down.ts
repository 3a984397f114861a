import {Flags} from '@oclif/core'

import {OrchCommand} from '../../cli/base-command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'

export default class HostDown extends OrchCommand {
  static override summary = 'Stop the EC2 instance (refused while jobs are running or queued, unless --force)'
  static override flags = {...hostFlags, force: Flags.boolean({description: 'stop even with unfinished jobs (they end FAILED)'})}

  async run() {
    const {flags} = await this.parse(HostDown)
    const {hostDown} = await import('../../sites/host-lifecycle.js')
    const result = await hostDown(configFromFlags(flags), {force: flags.force})
    this.say(() => `${result.instanceId}: ${result.previousState ?? '?'} → ${result.currentState ?? '?'}`)
    return result
  }
}
