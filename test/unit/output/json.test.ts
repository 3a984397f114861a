import {describe, expect, it} from 'vitest'

import {JsonJobList, type JobEntry} from '../../../src/jobs/job-record.js'
import {jsonDocument, jsonDocumentPieces} from '../../../src/output/json.js'

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

describe('jsonDocumentPieces', () => {
  const record = (index: number) => ({name: `j${index}`, command: 'ünï "✓" 🙂', startedAt: `2026-01-01T00:00:${String(index % 60).padStart(2, '0')}.000Z`, createdAt: '2026-01-01T00:00:00.000Z'}) as unknown as JobEntry
  it.each([0, 1, 2047, 2048, 2049, 5000])('a job list of %i records: the very text of jsonDocument, in pieces of at most 2048 records', (count) => {
    const list = new JsonJobList()
    for (let index = 0; index < count; index++) list.add(record(index))
    const pieces = [...jsonDocumentPieces(list, false)].map((piece) => piece.toString())
    expect(pieces.join('')).toBe(jsonDocument(list, false))
    expect(pieces.join('')).toBe(jsonDocument(JSON.parse(JSON.stringify(list)) as unknown[], false))
    expect(pieces).toHaveLength(Math.max(1, Math.ceil(count / 2048)))
    expect(JSON.parse(pieces.join(''))).toHaveLength(count)
  })

  it('anything else, or on a terminal: one piece, jsonDocument itself', () => {
    const list = new JsonJobList()
    list.add(record(1))
    expect([...jsonDocumentPieces(list, true)]).toEqual([jsonDocument(list, true)])
    expect([...jsonDocumentPieces({a: [1, 2]}, false)]).toEqual([jsonDocument({a: [1, 2]}, false)])
  })
})
