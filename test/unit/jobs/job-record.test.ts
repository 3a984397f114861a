import {describe, expect, it} from 'vitest'

import {epochToIso} from '../../../src/jobs/job-record.js'

describe('epochToIso', () => {
  it('writes what Date#toISOString writes, for every kind of second', () => {
    const samples = [0, 1, 59, 60, 3599, 3600, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 1_796_237_546, 4_102_444_799, 253_402_300_799, 253_402_300_800, -1, -86_401]
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4_102_444_800))
    for (const seconds of samples) expect(epochToIso(String(seconds)), String(seconds)).toBe(new Date(seconds * 1000).toISOString())
  })

  it('is null for what is not a whole number of seconds', () => {
    for (const text of [null, '', '1.5', 'abc', 'NaN']) expect(epochToIso(text)).toBeNull()
  })
})
