import {describe, expect, it} from 'vitest'

import {formatDuration, formatSize, parseDuration, parseSize} from '../../../src/config/units.js'

const SECOND = 1000
const MIN = 60 * SECOND
const MB = 1024 ** 2
const GB = 1024 ** 3

describe('units', () => {
  it.each([
    ['90s', 90 * SECOND],
    ['15m', 15 * MIN],
    ['2h', 120 * MIN],
    ['1h30m', 90 * MIN],
    ['30d', 30 * 24 * 60 * MIN],
    [' 15m ', 15 * MIN],
    ['15M', 15 * MIN],
  ])('parseDuration(%j) = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['soon', '15', '', '   ', '-1m', 'm', '15 m', '1h 30m', '15min', '1x'])('parseDuration(%j) is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })

  it.each([
    ['512M', 512 * MB],
    ['12G', 12 * GB],
    ['8GB', 8 * GB],
    ['8gb', 8 * GB],
    ['8GiB', 8 * GB],
    ['1.5T', 1.5 * 1024 * GB],
    ['64K', 64 * 1024],
  ])('parseSize(%j) = %d bytes', (text, size) => {
    expect(parseSize(text)).toBe(size)
  })

  it.each(['lots', '', '12', 'unknown', '-1G', 'G', '8X'])('parseSize(%j) is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined()
  })

  it('formats durations and sizes for messages', () => {
    expect(formatDuration(15 * MIN)).toBe('15m')
    expect(formatDuration(90 * MIN)).toBe('1h30m')
    expect(formatDuration(90 * SECOND)).toBe('1m30s')
    expect(formatDuration(500)).toBe('500ms')
    expect(formatSize(8 * GB)).toBe('8GB')
    expect(formatSize(512 * MB)).toBe('512MB')
  })
})
