import {OrchCommand} from '../cli/base-command.js'
import {statusAction} from '../cli/actions/jobs.js'
import {hostFlags, whereFlag} from '../cli/host-flags.js'

export default class Status extends OrchCommand {
  static override summary = 'Jobs not finished (QUEUED, STARTING, RUNNING) with elapsed time, here and on the cloud host'
  static override flags = {...hostFlags, where: whereFlag}

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(Status)
    return statusAction({flags, args, words: []}, this.io())
  }
}
