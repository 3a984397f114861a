import {describe, expect, it} from 'vitest'

import {heldBack} from '../../../src/hosts/kept-shell.js'

const MARKER = 'ORCH-abc-END'
const held = (text: string) => heldBack(Buffer.from(text), MARKER)

describe('heldBack: what of a kept shell’s output may still be its end line', () => {
  it('passes output that cannot start the end line at once', () => {
    expect(held('12345\n')).toBe(0)
    expect(held('')).toBe(0)
    expect(held('no marker here')).toBe(0)
  })

  it('keeps a tail that starts the marker', () => {
    expect(held('data O')).toBe(1)
    expect(held('data ORCH-a')).toBe(6)
    expect(held('data ORCH-abc-EN')).toBe(MARKER.length - 1)
  })

  it('keeps the whole marker and its status until the line ends', () => {
    expect(held('data ORCH-abc-END')).toBe(MARKER.length)
    expect(held('data ORCH-abc-END 12')).toBe(MARKER.length + 3)
  })

  it('passes a marker-like text that is not a prefix at the end', () => {
    expect(held('ORCH-abd')).toBe(0)
    expect(held('ORCH-abc-END 0\nmore')).toBe(0)
  })
})
