import {defineCommand} from '../../cli/command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {formatHostStatus} from '../../output/format-host.js'

export default defineCommand({
  id: 'host:status',
  summary: 'The cloud host: EC2 instance id, state, type, address, uptime, unfinished jobs, autostop',
  flags: {...hostFlags},
  async run({flags}, io) {
    const {hostStatus} = await import('../../sites/host-lifecycle.js')
    const status = await hostStatus(configFromFlags(flags))
    io.say(() => formatHostStatus(status))
    return status
  },
})
