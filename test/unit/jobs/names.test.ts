import {describe, expect, it} from 'vitest'

import {isJobName, stampJobName, validateJobName} from '../../../src/jobs/names.js'
import {OrchError} from '../../../src/errors/errors.js'

describe('job names', () => {
  it.each(['my-job', 'lros-backfill-20260216-1430', 'A', '9_x', 'a'.repeat(64)])('accepts %s', (name) => expect(isJobName(name)).toBe(true))
  it.each(['', 'a.b', 'a:b', 'a/b', 'a b', '-a', '_a', 'a;b', '$a', 'a'.repeat(65), 'jöb', 'a\nb'])('refuses %j', (name) => {
    let error: unknown
    try {
      validateJobName(name)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(OrchError)
    expect((error as OrchError).kind).toBe('usage')
    expect((error as OrchError).toLine()).toMatch(/letters, digits, - and _, starting with a letter or digit, at most 64/)
  })
  it('stamps names with local time', () => expect(stampJobName('lros-backfill', new Date(2026, 1, 16, 14, 30))).toBe('lros-backfill-20260216-1430'))
})
