import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {stopAction} from '../cli/actions/jobs.js'
import {hostFlags, whereFlag} from '../cli/host-flags.js'

export default class Stop extends OrchCommand {
  static override summary = 'Stop a job: its command gets TERM (KILL after --grace); state STOPPED; the log still ends with [EXIT: N]'
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {
    ...hostFlags,
    grace: Flags.string({description: 'seconds to wait after TERM before KILL', default: '10'}),
    where: whereFlag,
  }

  async run(): Promise<unknown> {
    const {flags, args} = await this.parse(Stop)
    return stopAction({flags, args, words: []}, this.io())
  }
}
