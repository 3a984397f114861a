import {formatDuration, formatSize} from '../config/units.js'
import {agentAffinity} from './agents.js'
import {inferFromCommand} from './inference.js'
import type {Decision, HeavyKind, JobProfile, Reason} from './profile.js'

export interface Thresholds {
  localMaxRuntimeMs: number
  cloudMinRuntimeMs: number
  cloudMemoryBytes: number
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  localMaxRuntimeMs: 3 * 60_000,
  cloudMinRuntimeMs: 10 * 60_000,
  cloudMemoryBytes: 8 * 1024 ** 3,
}

/** A profile with inference applied: each fact remembers whether it was guessed. */
export interface ResolvedProfile {
  runtimeMs: number | null
  runtimeLong: {inferred: boolean; evidence?: string} | null
  memory: number | 'unknown' | null
  heavyLogs: {inferred: boolean; evidence?: string} | null
  heavyKind: {kind: HeavyKind; inferred: boolean; evidence?: string} | null
  parallel: number
  ui: {inferred: boolean; evidence?: string} | null
  light: {inferred: boolean; evidence?: string} | null
  agent: string | null
}

/** Explicit fields always win; inference only fills what the caller left out. */
export function resolveProfile(profile: JobProfile): ResolvedProfile {
  const guessed = inferFromCommand(profile.command ?? [])
  const explicit = {inferred: false}
  return {
    runtimeMs: profile.runtimeMs ?? null,
    runtimeLong: profile.runtimeMs === undefined && guessed.longRuntime ? {inferred: true, evidence: guessed.longRuntime} : null,
    memory: profile.memory ?? null,
    heavyLogs:
      profile.heavyLogs === true ? explicit : profile.heavyLogs === undefined && guessed.heavyLogs ? {inferred: true, evidence: guessed.heavyLogs} : null,
    heavyKind: profile.heavyKind
      ? {kind: profile.heavyKind, inferred: false}
      : guessed.heavyKind
        ? {kind: guessed.heavyKind.kind, inferred: true, evidence: guessed.heavyKind.evidence}
        : null,
    parallel: profile.parallel ?? 1,
    ui: profile.ui === true ? explicit : profile.ui === undefined && guessed.ui ? {inferred: true, evidence: guessed.ui} : null,
    light: profile.light === true ? explicit : profile.light === undefined && guessed.light ? {inferred: true, evidence: guessed.light} : null,
    agent: profile.agent?.trim() || null,
  }
}

const because = (fact: {inferred: boolean; evidence?: string}) => (fact.inferred ? ` (inferred from the command: ${fact.evidence})` : '')

/**
 * The routing rules (README, "Routing"). Order: (1) any force_cloud → cloud; (2) every allow_local → local; (3) local agent
 * affinity → local; (4) otherwise cloud. The decision carries every reason that applied.
 */
export function decide(profile: JobProfile, thresholds: Thresholds = DEFAULT_THRESHOLDS): Decision & {profile: ResolvedProfile} {
  const p = resolveProfile(profile)
  const affinity = p.agent ? agentAffinity(p.agent) : undefined
  const agentNote: Reason[] = []
  if (p.agent && !affinity) {
    agentNote.push({code: 'agent-unknown', message: `agent "${p.agent}" has no affinity; the plain rules decide`, inferred: false})
  }

  // A light check or a local-affinity agent implies a small memory footprint.
  const lightForMemory = p.light !== null
  const memoryImpliedSmall = p.memory === null && (lightForMemory || affinity?.affinity === 'local')
  const runtimeShortInferred = p.runtimeMs === null && p.light?.inferred === true

  const force: Reason[] = []
  if (p.runtimeMs !== null && p.runtimeMs > thresholds.cloudMinRuntimeMs) {
    force.push({code: 'runtime-long', message: `runtime ${formatDuration(p.runtimeMs)} is over ${formatDuration(thresholds.cloudMinRuntimeMs)}`, inferred: false})
  } else if (p.runtimeLong) {
    force.push({code: 'runtime-long', message: `long-running work, expected over ${formatDuration(thresholds.cloudMinRuntimeMs)}${because(p.runtimeLong)}`, inferred: true})
  }
  if (p.heavyLogs) force.push({code: 'heavy-logs', message: `heavy log output${because(p.heavyLogs)}`, inferred: p.heavyLogs.inferred})
  if (p.heavyKind) {
    force.push({code: 'heavy-processing', message: `heavy processing: ${p.heavyKind.kind}${because(p.heavyKind)}`, inferred: p.heavyKind.inferred})
  }
  if (p.parallel >= 2) force.push({code: 'parallel', message: `${p.parallel} jobs at once (2 or more run in the cloud)`, inferred: false})
  if (typeof p.memory === 'number' && p.memory > thresholds.cloudMemoryBytes) {
    force.push({code: 'memory-high', message: `memory ${formatSize(p.memory)} is over ${formatSize(thresholds.cloudMemoryBytes)}`, inferred: false})
  } else if (p.memory === 'unknown' || (p.memory === null && !memoryImpliedSmall)) {
    force.push({
      code: 'memory-unknown',
      message: p.memory === 'unknown' ? 'memory estimate is unknown' : 'memory estimate not given (unknown counts as large)',
      inferred: false,
    })
  }

  if (force.length > 0) {
    if (affinity?.affinity === 'local') {
      agentNote.push({code: 'agent-overridden', message: `agent ${p.agent} prefers local (${affinity.role}), overridden by the rules above`, inferred: false})
    }
    return {target: 'cloud', reasons: [...force, ...agentNote], profile: p}
  }

  const runtimeShort = p.runtimeMs !== null ? p.runtimeMs <= thresholds.localMaxRuntimeMs : runtimeShortInferred
  if (runtimeShort && p.ui && p.light) {
    const runtimeMessage =
      p.runtimeMs !== null
        ? `runtime ${formatDuration(p.runtimeMs)} is within ${formatDuration(thresholds.localMaxRuntimeMs)}`
        : `a one-off check, within ${formatDuration(thresholds.localMaxRuntimeMs)}${because(p.light)}`
    return {
      target: 'local',
      reasons: [
        {code: 'runtime-short', message: runtimeMessage, inferred: p.runtimeMs === null},
        {code: 'ui-centric', message: `UI-centric${because(p.ui)}`, inferred: p.ui.inferred},
        {code: 'lightweight', message: `lightweight check${because(p.light)}`, inferred: p.light.inferred},
        ...agentNote,
      ],
      profile: p,
    }
  }

  if (affinity?.affinity === 'local') {
    return {target: 'local', reasons: [{code: 'agent-local', message: `agent ${p.agent} runs locally (${affinity.role})`, inferred: false}], profile: p}
  }

  if (affinity?.affinity === 'cloud') {
    return {target: 'cloud', reasons: [{code: 'agent-cloud', message: `agent ${p.agent} runs in the cloud (${affinity.role})`, inferred: false}], profile: p}
  }

  const missing: string[] = []
  if (!runtimeShort) missing.push(p.runtimeMs === null ? 'runtime unknown' : `runtime over ${formatDuration(thresholds.localMaxRuntimeMs)}`)
  if (!p.ui) missing.push('not UI-centric')
  if (!p.light) missing.push('not a lightweight check')
  return {
    target: 'cloud',
    reasons: [{code: 'default-cloud', message: `not every local condition holds (${missing.join(', ')}); in doubt, cloud`, inferred: false}, ...agentNote],
    profile: p,
  }
}
