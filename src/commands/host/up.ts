import {defineCommand} from '../../cli/command.js'
import {flag, values} from '../../cli/flags.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {DURATION_FORMS} from '../../config/units.js'
import {formatHostUp} from '../../output/format-host.js'
import {startProgress} from '../../terminal/progress.js'

export default defineCommand({
  id: 'host:up',
  summary: 'Start the EC2 instance if it is stopped and wait until it accepts SSH',
  flags: {
    ...hostFlags,
    'start-timeout': flag.option({description: `how long to wait for the instance and its SSH port (${DURATION_FORMS})`, default: '5m', parse: values.duration}),
  },
  async run({flags}, io) {
    const config = configFromFlags(flags)
    const progress = await startProgress('looking up the instance…')
    try {
      const {hostUp} = await import('../../sites/host-lifecycle.js')
      const result = await hostUp(config, {progress, startTimeoutMs: flags['start-timeout']})
      progress.stop()
      io.say(() => formatHostUp(result))
      return result
    } finally {
      progress.stop()
    }
  },
})
