import {defineCommand} from '../cli/command.js'
import {arg} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {validateJobName} from '../jobs/names.js'
import {approveNamedJob} from '../sites/job-commands.js'
import {formatApproved} from '../output/format-run.js'

export default defineCommand({
  id: 'approve',
  summary: 'Approve a job waiting for approval (its estimated cost was over --max-cost): it starts as soon as a slot is free',
  description: 'orch run does not start a cloud job whose estimated cost is over its limit (--max-cost, ORCH_MAX_COST), or unknown with ORCH_APPROVAL=unknown: the job waits on its host, QUEUED, waiting for approval. orch approve NAME starts it; orch stop NAME refuses it for good.',
  examples: ['<%= config.bin %> approve train-big'],
  args: {name: arg.required('job name')},
  flags: {...hostFlags, where: whereFlag},
  async run({flags, args}, io) {
    const outcome = await approveNamedJob(configFromFlags(flags), validateJobName(args.name), flags.where)
    io.say(() => formatApproved(outcome))
    return outcome
  },
})
