import {describe, expect, it} from 'vitest'

import {DEFAULT_THRESHOLDS} from '../../../src/routing/decide.js'
import type {JobProfile} from '../../../src/routing/profile.js'
import {route} from '../../../src/routing/route.js'

const MIN = 60_000

describe('route(): the JSON answer agents read', () => {
  it('normalises the profile next to the decision', () => {
    expect(route({runtimeMs: 15 * MIN}, DEFAULT_THRESHOLDS)).toEqual({
      target: 'cloud',
      reasons: [
        {code: 'runtime-long', message: 'runtime 15m is over 10m', inferred: false},
        {code: 'memory-unknown', message: 'memory estimate not given (unknown counts as large)', inferred: false},
      ],
      profile: {runtimeMs: 15 * MIN, memoryBytes: null, heavyLogs: false, heavy: null, parallel: 1, ui: false, light: false, agent: null, command: null, inferred: []},
    })
  })

  it('records the command text and every inferred field', () => {
    const result = route({command: ['tail', '-f', 'x.log']}, DEFAULT_THRESHOLDS)
    expect(result.profile).toMatchObject({command: 'tail -f x.log', heavyLogs: true, inferred: ['heavyLogs']})
    expect(route({memory: 'unknown', agent: ' Lens '}, DEFAULT_THRESHOLDS).profile).toMatchObject({memoryBytes: 'unknown', agent: 'Lens'})
  })

  it('is pure: the same input gives the same output, and the input is not changed', () => {
    const profile: JobProfile = Object.freeze({runtimeMs: MIN, ui: true, light: true, command: Object.freeze(['git', 'status'])})
    expect(route(profile, DEFAULT_THRESHOLDS)).toEqual(route(profile, DEFAULT_THRESHOLDS))
  })
})
