import {afterEach, describe, expect, it} from 'vitest'

import type {RouteResult} from '../../../src/routing/route.js'
import {formatRoute} from '../../../src/output/format-route.js'
import {style, useColor} from '../../../src/output/style.js'

const PROFILE: RouteResult['profile'] = {runtimeMs: null, memoryBytes: null, heavyLogs: false, heavy: null, parallel: 1, ui: false, light: false, agent: null, command: null, inferred: []}

afterEach(() => {
  useColor(false)
})

describe('formatRoute', () => {
  it('colour off: the target, then one line per reason, inferred ones tagged', () => {
    useColor(false)
    const result: RouteResult = {
      target: 'cloud',
      reasons: [
        {code: 'runtime-long', message: 'runtime 15m is over 10m', inferred: false},
        {code: 'heavy-logs', message: 'heavy log output (inferred from tail -f)', inferred: true},
      ],
      profile: PROFILE,
    }
    expect(formatRoute(result)).toBe('cloud\n  - runtime 15m is over 10m\n  - heavy log output (inferred from tail -f) [inferred]')
  })

  it('colour off: a local answer with unicode in a reason', () => {
    useColor(false)
    const result: RouteResult = {target: 'local', reasons: [{code: 'agent-local', message: 'agent “Lens” runs here — ünïcødé', inferred: false}], profile: PROFILE}
    expect(formatRoute(result)).toBe('local\n  - agent “Lens” runs here — ünïcødé')
  })

  it('colour on: the target is coloured and bold, the [inferred] tag dim; the words stay the same', () => {
    useColor(true)
    const text = formatRoute({target: 'local', reasons: [{code: 'lightweight', message: 'lightweight check', inferred: true}], profile: PROFILE})
    expect(text).toContain('\u001B[1m')
    expect(text).toContain('\u001B[2m [inferred]')
    expect(text.replace(/\u001B\[[0-9;]*m/g, '')).toBe('local\n  - lightweight check [inferred]')
  })
})
