import {describe, expect, it} from 'vitest'

import {jsonDocument} from '../../../src/output/json.js'

describe('jsonDocument', () => {
  const jobs = [{name: 'a', command: 'echo "x\ny"', exitCode: null}, {name: 'b', command: '', exitCode: 0}]

  it('indents for a terminal', () => {
    expect(jsonDocument(jobs, true)).toBe(JSON.stringify(jobs, null, 2))
  })

  it('is compact otherwise, one array element per line, and parses back to the same value', () => {
    const text = jsonDocument(jobs, false)
    expect(text.split('\n')).toEqual(['[', JSON.stringify(jobs[0]) + ',', JSON.stringify(jobs[1]), ']'])
    expect(JSON.parse(text)).toEqual(jobs)
    for (const value of [[], {a: 1}, 'x', null, 3, [null, [1, 2]]]) expect(JSON.parse(jsonDocument(value, false))).toEqual(value)
  })
})
