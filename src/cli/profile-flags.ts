import {DURATION_FORMS, SIZE_FORMS, parseSize} from '../config/units.js'
import {usageError} from '../errors/errors.js'
import {HEAVY_KINDS, type HeavyKind, type JobProfile} from '../routing/profile.js'
import {flag, values} from './flags.js'

/** The job-profile flags of `orch route` and `orch run`; each value is checked as it is parsed. */
export const profileFlags = {
  runtime: flag.option({description: `expected runtime (${DURATION_FORMS})`, helpGroup: 'PROFILE', parse: values.duration}),
  memory: flag.option({
    description: `expected peak memory (${SIZE_FORMS})`,
    helpGroup: 'PROFILE',
    parse: (text, name): number | 'unknown' => {
      if (text.trim().toLowerCase() === 'unknown') return 'unknown'
      const size = parseSize(text)
      if (size === undefined) throw usageError(`${name} "${text}" is not a size`, `use ${SIZE_FORMS}`)
      return size
    },
  }),
  'heavy-logs': flag.boolean({description: 'prints a lot of output (watch, tail -f, dev server, build logs)', helpGroup: 'PROFILE'}),
  heavy: flag.option({
    description: `heavy processing kind: ${HEAVY_KINDS.join(', ')}`,
    helpGroup: 'PROFILE',
    parse: (text, name): HeavyKind => {
      const kind = text.trim().toLowerCase()
      if (!(HEAVY_KINDS as readonly string[]).includes(kind)) throw usageError(`${name} "${text}" is not a known kind`, `use one of ${HEAVY_KINDS.join(', ')}`)
      return kind as HeavyKind
    },
  }),
  parallel: flag.option({description: 'how many jobs run at once (2 or more → cloud)', helpGroup: 'PROFILE', parse: values.wholeNumber(1, 'a job count')}),
  ui: flag.boolean({description: 'UI-centric work (browser or IDE operation)', helpGroup: 'PROFILE'}),
  light: flag.boolean({description: 'lightweight check (git status, ls, one-off command)', helpGroup: 'PROFILE'}),
  agent: flag.option({description: 'the agent asking (Builder, Lens, Rally, …); gives its default target', helpGroup: 'PROFILE'}),
}

export interface ProfileFlagValues {
  runtime?: number
  memory?: number | 'unknown'
  'heavy-logs'?: boolean
  heavy?: HeavyKind
  parallel?: number
  ui?: boolean
  light?: boolean
  agent?: string
}

/** The routing profile the flags describe, for the command words given. */
export function profileFromFlags(flags: ProfileFlagValues, command: readonly string[]): JobProfile {
  const profile: JobProfile = {command}
  if (flags.runtime !== undefined) profile.runtimeMs = flags.runtime
  if (flags.memory !== undefined) profile.memory = flags.memory
  if (flags.heavy !== undefined) profile.heavyKind = flags.heavy
  if (flags.parallel !== undefined) profile.parallel = flags.parallel
  if (flags['heavy-logs']) profile.heavyLogs = true
  if (flags.ui) profile.ui = true
  if (flags.light) profile.light = true
  if (flags.agent !== undefined) profile.agent = flags.agent
  return profile
}
