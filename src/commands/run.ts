import {Args, Flags} from '@oclif/core'

import {OrchCommand, argWords} from '../cli/base-command.js'
import {runAction} from '../cli/actions/run.js'
import {hostFlags} from '../cli/host-flags.js'
import {routingFlags} from '../cli/routing-flags.js'
import {syncFlags, syncSourceFromFlags, withOptionalSyncValue} from '../cli/sync-flags.js'
import type {RunOutcome} from '../sites/run-job.js'

export default class Run extends OrchCommand {
  static override summary = 'Route a job, then run it: cloud → detached tmux session on the host; local → here, in the foreground'
  static override description = `The command after -- runs exactly as typed: one argument is a shell script ('make && ./deploy'), several are a command line whose words are kept as given. Output goes to <log root>/NAME/run.log, ending with [EXIT: N].`
  static override examples = [
    `<%= config.bin %> run lros-backfill --runtime 2h -- 'python backfill.py --from 2026-01-01 | tee out.txt'`,
    '<%= config.bin %> run build-check --where cloud --wait -- make -j8',
    '<%= config.bin %> run quick-ls --runtime 10s --ui --light -- ls -la',
  ]
  static override strict = false
  static override args = {name: Args.string({description: 'job name: letters, digits, - and _, at most 64', required: true})}
  static override flags = {
    ...routingFlags,
    ...hostFlags,
    where: Flags.string({description: 'override the routing decision', options: ['auto', 'cloud', 'local'], default: 'auto'}),
    cwd: Flags.string({description: 'working directory on the host (default: the login directory)'}),
    env: Flags.string({description: 'environment variable for the job, NAME=value (repeatable; values are never printed)', multiple: true}),
    wait: Flags.boolean({description: 'follow the log until the job ends and exit with its status'}),
    replace: Flags.boolean({description: 'delete the log of an earlier finished job with this name'}),
    stamp: Flags.boolean({description: 'append -YYYYMMDD-HHMM (local time) to the name'}),
    'env-file': Flags.string({description: 'file of NAME=value lines for the job\'s environment (values are never printed)'}),
    retries: Flags.string({description: 'L2: re-run on a non-zero exit this many times, on the host', helpGroup: 'GUARDRAILS'}),
    'retry-delay': Flags.string({description: 'wait before the first retry (default 30s)', helpGroup: 'GUARDRAILS'}),
    backoff: Flags.string({description: 'multiply the wait by this after each retry (default 2)', helpGroup: 'GUARDRAILS'}),
    'max-parallel': Flags.string({description: 'jobs running at once on the host (default ORCH_MAX_PARALLEL, 4); more wait QUEUED', helpGroup: 'GUARDRAILS'}),
    notify: Flags.boolean({description: 'L4: announce the end (Slack with ORCH_SLACK_WEBHOOK_URL, else stdout); ORCH_NOTIFY sets it always', helpGroup: 'GUARDRAILS'}),
    'max-log-size': Flags.string({description: 'cap run.log (e.g. 1G): older output moves to run.log.1', helpGroup: 'GUARDRAILS'}),
    'start-timeout': Flags.string({description: 'how long to wait for a stopped EC2 instance to start and answer SSH (default 5m)', helpGroup: 'HOST'}),
    cloudwatch: Flags.boolean({description: 'ship the log to CloudWatch Logs (ORCH_CLOUDWATCH_GROUP) when the job ends; see orch ship'}),
    ...syncFlags,
  }

  async run(): Promise<RunOutcome> {
    const parsed = await this.parse(Run, withOptionalSyncValue(this.argv))
    const {args, flags} = parsed
    const sync = await syncSourceFromFlags(flags)
    return runAction({flags, args, words: argWords(parsed).slice(1)}, this.io(), sync)
  }
}
