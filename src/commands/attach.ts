import {defineCommand} from '../cli/command.js'
import {arg} from '../cli/flags.js'
import {configFromFlags, hostFlags} from '../cli/host-flags.js'
import {attachNamedJob} from '../sites/job-commands.js'
import {validateJobName} from '../jobs/names.js'

export default defineCommand({
  id: 'attach',
  summary: "Attach this terminal to a cloud job's tmux session (detach with C-b d; the job keeps running)",
  enableJsonFlag: false,
  args: {name: arg.required('job name')},
  flags: {...hostFlags},
  async run({flags, args}) {
    process.exitCode = await attachNamedJob(configFromFlags(flags), validateJobName(args.name))
    return undefined
  },
})
