import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {logsAction} from '../cli/actions/jobs.js'
import {hostFlags, whereFlag} from '../cli/host-flags.js'
import {DURATION_FORMS} from '../config/units.js'

export default class Logs extends OrchCommand {
  static override summary = "Print a job's log; -f follows it until [EXIT: N] and exits with N"
  static override examples = ['<%= config.bin %> logs lros-backfill-20260216-1430', '<%= config.bin %> logs my-job -f', '<%= config.bin %> logs my-job --tail 50']
  static override enableJsonFlag = false
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {
    ...hostFlags,
    follow: Flags.boolean({char: 'f', description: 'keep printing new output until the job ends, then exit with its status'}),
    tail: Flags.string({description: 'start with the last N lines'}),
    since: Flags.string({description: `start with output written in the last DURATION (${DURATION_FORMS}); 2-second resolution`}),
    where: whereFlag,
    source: Flags.string({description: 'read from the host (default) or from CloudWatch Logs (works after the host is gone)', options: ['host', 'cloudwatch'], default: 'host'}),
  }

  async run(): Promise<void> {
    const {flags, args} = await this.parse(Logs)
    await logsAction({flags, args, words: []}, this.io())
  }
}
