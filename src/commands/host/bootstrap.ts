import {OrchCommand} from '../../cli/base-command.js'
import {configFromFlags, hostFlags} from '../../cli/host-flags.js'
import {startProgress} from '../../terminal/progress.js'

export default class HostBootstrap extends OrchCommand {
  static override summary = 'Prepare the host: install tmux, create the log root, install the retention cron line (safe to repeat)'
  static override description = 'Runs scripts/cloud/bootstrap.sh on the host (Ubuntu/Debian with apt-get, Amazon Linux with dnf or yum); it uses sudo -n when the SSH user is not root.'
  static override flags = {...hostFlags}

  async run(): Promise<{host: string; output: string}> {
    const {flags} = await this.parse(HostBootstrap)
    const progress = await startProgress('bootstrapping the host…')
    const {bootstrapHost} = await import('../../sites/host-lifecycle.js')
    try {
      const result = await bootstrapHost(configFromFlags(flags), {progress})
      progress.stop()
      this.say(() => result.output)
      return result
    } finally {
      progress.stop()
    }
  }
}
