import {DURATION_FORMS, SIZE_FORMS, parseDuration, parseSize} from '../config/units.js'
import {usageError} from '../errors/errors.js'
import {HEAVY_KINDS, type HeavyKind, type JobProfile} from '../routing/profile.js'

export interface RoutingFlagValues {
  runtime?: string
  memory?: string
  'heavy-logs'?: boolean
  heavy?: string
  parallel?: string
  ui?: boolean
  light?: boolean
  agent?: string
}

/** Validate profile flags; any bad value is a usage error naming the flag and the accepted forms. */
export function profileFromFlags(flags: RoutingFlagValues, command: readonly string[]): JobProfile {
  const profile: JobProfile = {command}
  if (flags.runtime !== undefined) {
    const ms = parseDuration(flags.runtime)
    if (ms === undefined) throw usageError(`--runtime "${flags.runtime}" is not a duration`, `use ${DURATION_FORMS}`)
    profile.runtimeMs = ms
  }
  if (flags.memory !== undefined) {
    if (flags.memory.trim().toLowerCase() === 'unknown') profile.memory = 'unknown'
    else {
      const size = parseSize(flags.memory)
      if (size === undefined) throw usageError(`--memory "${flags.memory}" is not a size`, `use ${SIZE_FORMS}`)
      profile.memory = size
    }
  }
  if (flags.heavy !== undefined) {
    const kind = flags.heavy.trim().toLowerCase()
    if (!(HEAVY_KINDS as readonly string[]).includes(kind)) {
      throw usageError(`--heavy "${flags.heavy}" is not a known kind`, `use one of ${HEAVY_KINDS.join(', ')}`)
    }
    profile.heavyKind = kind as HeavyKind
  }
  if (flags.parallel !== undefined) {
    const text = flags.parallel.trim()
    if (!/^\d+$/.test(text) || Number(text) < 1) {
      throw usageError(`--parallel "${flags.parallel}" is not a job count`, 'use a whole number of at least 1')
    }
    profile.parallel = Number(text)
  }
  if (flags['heavy-logs']) profile.heavyLogs = true
  if (flags.ui) profile.ui = true
  if (flags.light) profile.light = true
  if (flags.agent !== undefined) profile.agent = flags.agent
  return profile
}
