import {OrchCommand} from '../../cli/base-command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import type {HostStatus} from '../../sites/host-lifecycle.js'
import {formatHostStatus} from '../../output/format-host.js'

export default class HostStatusCommand extends OrchCommand {
  static override summary = 'The cloud host: EC2 instance id, state, type, address, uptime, unfinished jobs, autostop'
  static override flags = {...hostFlags}

  async run(): Promise<HostStatus> {
    const {flags} = await this.parse(HostStatusCommand)
    const {hostStatus} = await import('../../sites/host-lifecycle.js')
    const status = await hostStatus(configFromFlags(flags))
    this.say(() => formatHostStatus(status))
    return status
  }
}
