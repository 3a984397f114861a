import {defineCommand} from '../../cli/command.js'
import {flag} from '../../cli/flags.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {formatHostDown} from '../../output/format-host.js'

export default defineCommand({
  id: 'host:down',
  summary: 'Stop the EC2 instance (refused while jobs are running or queued, unless --force)',
  flags: {...hostFlags, force: flag.boolean({description: 'stop even with unfinished jobs (they end FAILED)'})},
  async run({flags}, io) {
    const {hostDown} = await import('../../sites/host-lifecycle.js')
    const result = await hostDown(configFromFlags(flags), {force: flags.force})
    io.say(() => formatHostDown(result))
    return result
  },
})
