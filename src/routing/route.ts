import type {Thresholds} from './decide.js'
import {decide} from './decide.js'
import type {JobProfile, Reason, Target} from './profile.js'

/** The routing answer as agents read it from `orch route --json`. */
export interface RouteResult {
  target: Target
  reasons: Reason[]
  profile: {
    runtimeMs: number | null
    memoryBytes: number | 'unknown' | null
    heavyLogs: boolean
    heavy: string | null
    parallel: number
    ui: boolean
    light: boolean
    agent: string | null
    command: string | null
    inferred: string[]
  }
}

export function route(profile: JobProfile, thresholds: Thresholds): RouteResult {
  const decision = decide(profile, thresholds)
  const p = decision.profile
  const inferred = [
    p.runtimeLong?.inferred && 'runtime',
    p.heavyLogs?.inferred && 'heavyLogs',
    p.heavyKind?.inferred && 'heavy',
    p.ui?.inferred && 'ui',
    p.light?.inferred && 'light',
  ].filter((name): name is string => typeof name === 'string')
  return {
    target: decision.target,
    reasons: decision.reasons,
    profile: {
      runtimeMs: p.runtimeMs,
      memoryBytes: p.memory,
      heavyLogs: p.heavyLogs !== null,
      heavy: p.heavyKind?.kind ?? null,
      parallel: p.parallel,
      ui: p.ui !== null,
      light: p.light !== null,
      agent: p.agent,
      command: profile.command && profile.command.length > 0 ? profile.command.join(' ') : null,
      inferred,
    },
  }
}
