import {cloudwatchWanted} from '../../config/config.js'
import {DURATION_FORMS, parseDuration} from '../../config/units.js'
import {usageError} from '../../errors/errors.js'
import {stampJobName, validateJobName} from '../../jobs/names.js'
import {type RunOutcome, runJob} from '../../sites/run-job.js'
import {waitedExitStatus} from '../../jobs/state.js'
import type {SyncSource} from '../../sync/source.js'
import {formatStarted} from '../../output/format-run.js'
import {startProgress} from '../../terminal/progress.js'
import {stdoutClosed, writeOut} from '../../terminal/stdout.js'
import {configFromFlags} from '../config-from-flags.js'
import {type RoutingFlagValues, profileFromFlags} from '../routing-flags-parse.js'
import {type GuardrailFlags, guardrailsFrom, jobEnvironment} from '../run-options.js'
import type {ActionInput, ActionIo} from './action.js'

export interface RunFlags extends RoutingFlagValues, GuardrailFlags {
  'accept-new-host-key'?: boolean
  where?: string
  cwd?: string
  env?: string[]
  'env-file'?: string
  wait?: boolean
  replace?: boolean
  stamp?: boolean
  cloudwatch?: boolean
  artifacts?: string[]
  'start-timeout'?: string
}

/** orch run: validate everything, then route and start the job (see sites/run-job.ts). */
export async function runAction({flags, args, words}: ActionInput<RunFlags>, io: ActionIo, sync?: SyncSource): Promise<RunOutcome> {
  const name = flags.stamp ? stampJobName(validateJobName(args.name ?? '')) : validateJobName(args.name ?? '')
  const profile = profileFromFlags(flags, words)
  const config = configFromFlags(flags)
  const spec = {
    name,
    argv: words,
    env: jobEnvironment(flags['env-file'], flags.env ?? []),
    cwd: flags.cwd,
    replace: flags.replace === true,
    cloudwatch: cloudwatchWanted(config, flags.cloudwatch),
    guardrails: guardrailsFrom(flags, config),
    artifacts: flags.artifacts,
  }
  let startTimeoutMs: number | undefined
  if (flags['start-timeout'] !== undefined) {
    startTimeoutMs = parseDuration(flags['start-timeout'])
    if (startTimeoutMs === undefined) throw usageError(`--start-timeout "${flags['start-timeout']}" is not a duration`, `use ${DURATION_FORMS}`)
  }
  const wait = flags.wait === true
  const progress = await startProgress('routing…')
  const outcome = await runJob(
    config,
    {spec, profile, where: (flags.where ?? 'auto') as 'auto' | 'cloud' | 'local', wait, quiet: io.json, sync, startTimeoutMs},
    {
      progress,
      started: (started) => {
        if (!io.json) io.note(formatStarted(started, wait || started.target === 'local'))
      },
      write: writeOut,
      stopWaiting: stdoutClosed,
      onReconnect: (attempt, delay) => io.note(`connection lost; reconnecting in ${Math.round(delay / 100) / 10}s (attempt ${attempt})`),
      warn: (message) => io.note(message),
    },
  )
  if (wait || outcome.target === 'local') {
    if (outcome.state === 'FAILED' && outcome.exitCode === null) io.note(`job ${name} ended without an exit status (its session vanished: host reboot or tmux killed); its state is FAILED, see orch list`)
    process.exitCode = waitedExitStatus(outcome.state, outcome.exitCode)
  }
  return outcome
}
