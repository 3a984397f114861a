import {Args} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags} from '../cli/host-flags.js'
import {attachJob} from '../jobs/attach-job.js'
import {locateJob} from '../sites/locate-job.js'
import {validateJobName} from '../jobs/names.js'

export default class Attach extends OrchCommand {
  static override summary = "Attach this terminal to a cloud job's tmux session (detach with C-b d; the job keeps running)"
  static override enableJsonFlag = false
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {...hostFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Attach)
    const name = validateJobName(args.name)
    const {site} = await locateJob(configFromFlags(flags), name)
    try {
      this.setExitCode(await attachJob(site, name))
    } finally {
      await site.close()
    }
  }
}
