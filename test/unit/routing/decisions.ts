/** What the routing tests share: units, and decide() wrapped to check every reason it gives. */
import {expect} from 'vitest'

import {type Thresholds, decide} from '../../../src/routing/decide.js'
import {type JobProfile, REASON_CODES, type Reason, type ReasonCode} from '../../../src/routing/profile.js'

export const SECOND = 1000
export const MIN = 60 * SECOND
export const MB = 1024 ** 2
export const GB = 1024 ** 3


/** Every reason, of every decision made in this file, has exactly a stable code, a message and `inferred`. */
export function expectWellFormed(reasons: Reason[]): void {
  expect(reasons.length).toBeGreaterThan(0)
  for (const reason of reasons) {
    expect(Object.keys(reason).sort()).toEqual(['code', 'inferred', 'message'])
    expect(REASON_CODES).toContain(reason.code)
    expect(typeof reason.message).toBe('string')
    expect(reason.message.trim()).not.toBe('')
    expect(typeof reason.inferred).toBe('boolean')
  }
}

export function run(profile: JobProfile, thresholds?: Thresholds) {
  const decision = decide(profile, thresholds)
  expectWellFormed(decision.reasons)
  return decision
}

export const codes = (profile: JobProfile, thresholds?: Thresholds) => run(profile, thresholds).reasons.map((r) => r.code)
export const reason = (profile: JobProfile, code: ReasonCode, thresholds?: Thresholds) => run(profile, thresholds).reasons.find((r) => r.code === code)

/** Nothing forces the cloud and not every local condition holds: plain default. */
export const NEUTRAL: JobProfile = {runtimeMs: 5 * MIN, memory: 1 * GB}
/** Every allow_local condition holds and no force_cloud condition does. */
export const LOCAL: JobProfile = {runtimeMs: 1 * MIN, memory: 512 * MB, ui: true, light: true}
