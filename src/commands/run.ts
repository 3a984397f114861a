import {defineCommand} from '../cli/command.js'
import {arg, flag, values} from '../cli/flags.js'
import {configFromFlags, hostFlags} from '../cli/host-flags.js'
import {profileFlags, profileFromFlags} from '../cli/profile-flags.js'
import {guardrailFlags, guardrailsFrom, jobEnvironment, slurmFlags, slurmOptionsFrom} from '../cli/run-options.js'
import {approvalFlags, approvalFromFlags} from '../cli/cost-flags.js'
import {EXIT_CODES} from '../errors/errors.js'
import {serviceFlags, servicePolicyFrom} from '../cli/service-flags.js'
import {syncFlags, syncSourceFromFlags} from '../cli/sync-flags.js'
import {cloudwatchWanted} from '../config/config.js'
import {usageError} from '../errors/errors.js'
import {stampJobName, validateJobName} from '../jobs/names.js'
import {runJob} from '../sites/run-job.js'
import {waitedExitStatus} from '../jobs/state.js'
import {formatHeld, formatStarted} from '../output/format-run.js'
import {startProgress} from '../terminal/progress.js'
import {stdoutClosed, writeOut} from '../terminal/stdout.js'

export default defineCommand({
  id: 'run',
  summary: 'Route a job, then run it: cloud → detached tmux session on the host; local → here, in the foreground',
  description: `The command after -- runs exactly as typed: one argument is a shell script ('make && ./deploy'), several are a command line whose words are kept as given. Output goes to <log root>/NAME/run.log, ending with [EXIT: N]. A cloud job whose estimated cost (the host's price per hour × --runtime) is over --max-cost (ORCH_MAX_COST) is not started: it waits QUEUED on the host until orch approve NAME (orch stop NAME refuses it), and orch run exits with status 10.`,
  examples: [
    `<%= config.bin %> run lros-backfill --runtime 2h -- 'python backfill.py --from 2026-01-01 | tee out.txt'`,
    '<%= config.bin %> run build-check --where cloud --wait -- make -j8',
    '<%= config.bin %> run quick-ls --runtime 10s --ui --light -- ls -la',
  ],
  strict: false,
  args: {name: arg.required('job name: letters, digits, - and _, at most 64')},
  flags: {
    ...profileFlags,
    ...hostFlags,
    where: flag.option({
      description: 'override the routing decision',
      options: ['auto', 'cloud', 'local'],
      default: 'auto',
      parse: (text) => text as 'auto' | 'cloud' | 'local',
    }),
    cwd: flag.option({description: 'working directory on the host (default: the login directory)'}),
    env: flag.multiple({description: 'environment variable for the job, NAME=value (repeatable; values are never printed)'}),
    wait: flag.boolean({description: 'follow the log until the job ends and exit with its status'}),
    replace: flag.boolean({description: 'delete the log of an earlier finished job with this name'}),
    stamp: flag.boolean({description: 'append -YYYYMMDD-HHMM (local time) to the name'}),
    'env-file': flag.option({description: "file of NAME=value lines for the job's environment (values are never printed)"}),
    ...guardrailFlags,
    ...approvalFlags,
    ...serviceFlags,
    'start-timeout': flag.option({description: 'how long to wait for a stopped EC2 instance to start and answer SSH (default 5m)', helpGroup: 'HOST', parse: values.duration}),
    cloudwatch: flag.boolean({description: 'ship the log to CloudWatch Logs (ORCH_CLOUDWATCH_GROUP) when the job ends; see orch ship'}),
    ...syncFlags,
    ...slurmFlags,
  },
  async run({flags, args, words}, io) {
    const name = flags.stamp ? stampJobName(validateJobName(args.name)) : validateJobName(args.name)
    const profile = profileFromFlags(flags, words)
    const config = configFromFlags(flags)
    const spec = {
      name,
      argv: words,
      env: jobEnvironment(flags['env-file'], flags.env ?? []),
      cwd: flags.cwd,
      replace: flags.replace,
      cloudwatch: cloudwatchWanted(config, flags.cloudwatch),
      guardrails: guardrailsFrom(flags, config),
      artifacts: flags.artifacts,
      service: servicePolicyFrom(flags),
    }
    const sbatchOptions = slurmOptionsFrom(flags, config)
    // --scheduler slurm names the cluster: the job goes there whatever the routing rules say.
    if (flags.scheduler === 'slurm' && flags.where === 'local') throw usageError('--scheduler slurm runs the job on the cluster, not here', 'drop --where local, or --scheduler slurm')
    const where = flags.scheduler === 'slurm' ? 'cloud' : flags.where
    const sync = await syncSourceFromFlags(flags)
    const progress = await startProgress('routing…')
    const outcome = await runJob(
      config,
      {spec, profile, where, wait: flags.wait, quiet: io.json, sync, startTimeoutMs: flags['start-timeout'], approval: approvalFromFlags(flags, config), ...(sbatchOptions ? {sbatchOptions} : {})},
      {
        progress,
        started: (started) => {
          if (!io.json) io.note(formatStarted(started, flags.wait || started.target === 'local'))
        },
        write: writeOut,
        stopWaiting: stdoutClosed,
        onReconnect: (attempt, delay) => io.note(`connection lost; reconnecting in ${Math.round(delay / 100) / 10}s (attempt ${attempt})`),
        warn: (message) => io.note(message),
      },
    )
    if (outcome.waitingFor === 'approval') {
      // Not started: the exit status says so, so that an agent knows to ask a person.
      io.say(() => formatHeld(outcome))
      process.exitCode = EXIT_CODES.awaitingApproval
      return outcome
    }
    if (flags.wait || outcome.target === 'local') {
      if (outcome.state === 'FAILED' && outcome.exitCode === null) io.note(`job ${name} ended without an exit status (its session vanished: host reboot or tmux killed); its state is FAILED, see orch list`)
      process.exitCode = waitedExitStatus(outcome.state, outcome.exitCode)
    }
    return outcome
  },
})
