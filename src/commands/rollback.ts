import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {locateJob} from '../sites/locate-job.js'
import {validateJobName} from '../jobs/names.js'
import {type RollbackPlan, applyRollback, planRollback} from '../jobs/rollback-job.js'
import type {Where} from '../sites/sites.js'
import {OrchError, usageError} from '../errors/errors.js'
import {formatRollbackPlan} from '../output/format-maintenance.js'

export default class Rollback extends OrchCommand {
  static override summary = "L3: reset the job's git work tree on the host to the commit the job started from"
  static override description = 'Runs git reset --hard there after showing what it discards (later commits, uncommitted changes). Refused while the job is unfinished. Asks first on a terminal; --yes skips the question.'
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {
    ...hostFlags,
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
    'dry-run': Flags.boolean({description: 'only show what would be discarded'}),
    where: whereFlag,
  }

  async run(): Promise<RollbackPlan & {applied: boolean}> {
    const {args, flags} = await this.parse(Rollback)
    const name = validateJobName(args.name)
    const {site} = await locateJob(configFromFlags(flags), name, flags.where as Where | undefined)
    try {
      const plan = await planRollback(site, name)
      this.say(() => formatRollbackPlan(plan))
      if (flags['dry-run']) return {...plan, applied: false}
      if (!flags.yes) {
        if (!process.stdin.isTTY || this.jsonEnabled()) throw usageError('rollback discards work and needs confirmation', 'run it on a terminal, or pass --yes')
        const {createInterface} = await import('node:readline/promises')
        const rl = createInterface({input: process.stdin, output: process.stderr})
        const answer = await rl.question(`reset ${plan.workTree} to ${plan.commit.slice(0, 12)}? [y/N] `)
        rl.close()
        if (!/^y(es)?$/i.test(answer.trim())) throw new OrchError('failure', 'rollback cancelled; nothing changed')
      }
      await applyRollback(site, name)
      this.say(() => `${plan.workTree} is at ${plan.commit.slice(0, 12)}`)
      return {...plan, applied: true}
    } finally {
      await site.close()
    }
  }
}
