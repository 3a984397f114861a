import {confirm} from '../cli/confirm.js'
import {defineCommand} from '../cli/command.js'
import {arg, flag} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {validateJobName} from '../jobs/names.js'
import {rollbackNamedJob} from '../sites/job-commands.js'
import {usageError} from '../errors/errors.js'
import {formatRollbackPlan} from '../output/format-maintenance.js'

export default defineCommand({
  id: 'rollback',
  summary: "L3: reset the job's git work tree on the host to the commit the job started from",
  description: 'Runs git reset --hard there after showing what it discards (later commits, uncommitted changes). Refused while the job is unfinished. Asks first on a terminal; --yes skips the question.',
  args: {name: arg.required('job name')},
  flags: {
    ...hostFlags,
    yes: flag.boolean({char: 'y', description: 'do not ask for confirmation'}),
    'dry-run': flag.boolean({description: 'only show what would be discarded'}),
    where: whereFlag,
  },
  async run({flags, args}, io) {
    const result = await rollbackNamedJob(configFromFlags(flags), validateJobName(args.name), {
      where: flags.where,
      dryRun: flags['dry-run'],
      show: (plan) => io.say(() => formatRollbackPlan(plan)),
      confirm: async (plan) => {
        if (flags.yes) return true
        if (!process.stdin.isTTY || io.json) throw usageError('rollback discards work and needs confirmation', 'run it on a terminal, or pass --yes')
        return confirm(`reset ${plan.workTree} to ${plan.commit.slice(0, 12)}? [y/N] `)
      },
    })
    if (result.applied) io.say(() => `${result.workTree} is at ${result.commit.slice(0, 12)}`)
    return result
  },
})
