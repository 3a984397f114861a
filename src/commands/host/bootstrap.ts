import {defineCommand} from '../../cli/command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {startProgress} from '../../terminal/progress.js'

export default defineCommand({
  id: 'host:bootstrap',
  summary: 'Prepare the host: install tmux, create the log root, install the retention cron line (safe to repeat)',
  description: 'Runs scripts/cloud/bootstrap.sh on the host (Ubuntu/Debian with apt-get, Amazon Linux with dnf or yum); it uses sudo -n when the SSH user is not root.',
  flags: {...hostFlags},
  async run({flags}, io) {
    const progress = await startProgress('bootstrapping the host…')
    try {
      const {bootstrapHost} = await import('../../sites/host-lifecycle.js')
      const result = await bootstrapHost(configFromFlags(flags), {progress})
      progress.stop()
      io.say(() => result.output)
      return result
    } finally {
      progress.stop()
    }
  },
})
