import {afterEach, describe, expect, it} from 'vitest'

import {colourState} from '../../../src/output/format-state.js'
import {style, useColor} from '../../../src/output/style.js'

afterEach(() => {
  useColor(false)
})

describe('colourState', () => {
  it.each(['QUEUED', 'STARTING', 'RUNNING', 'DONE', 'FAILED', 'STOPPED'])('colour off: %s is the bare state name', (state) => {
    useColor(false)
    expect(colourState(state)).toBe(state)
  })

  it('colour on: each known state is wrapped in its colour, an unknown one is left bare', () => {
    useColor(true)
    expect(colourState('DONE')).toBe('\u001B[32mDONE\u001B[39m')
    expect(colourState('FAILED')).toBe('\u001B[31mFAILED\u001B[39m')
    expect(colourState('RUNNING')).toBe('\u001B[36mRUNNING\u001B[39m')
    expect(colourState('STOPPED')).toBe('\u001B[35mSTOPPED\u001B[39m')
    expect(colourState('QUEUED')).toBe(colourState('STARTING').replace('STARTING', 'QUEUED'))
    expect(colourState('MYSTERY')).toBe('MYSTERY')
  })
})
