import {OrchCommand} from '../cli/base-command.js'
import {listAction} from '../cli/actions/jobs.js'
import {hostFlags, whereFlag} from '../cli/host-flags.js'

export default class List extends OrchCommand {
  static override summary = 'Every job in history (the log directories), newest first, with state and exit code'
  static override flags = {...hostFlags, where: whereFlag}

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(List)
    return listAction({flags, args, words: []}, this.io())
  }
}
