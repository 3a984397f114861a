import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {EXIT_CODES, EXIT_CODE_DESCRIPTIONS, OrchError} from '../../../src/errors/errors.js'

describe('exit codes', () => {
  // The type already gives every code a description; what it cannot check is checked here.
  it('gives each code a distinct exit status (0 for ok alone) and a one-line description of its own', () => {
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.values(EXIT_CODES).length)
    expect(Object.entries(EXIT_CODES).filter(([, status]) => status === 0)).toEqual([['ok', 0]])
    const descriptions = Object.values(EXIT_CODE_DESCRIPTIONS)
    for (const text of descriptions) expect(text).toMatch(/^\S[^\n]*\S$/)
    expect(new Set(descriptions).size).toBe(descriptions.length)
    expect(new OrchError('notFound', 'no job', 'see orch list').toLine()).toBe('no job — see orch list')
  })

  it('the --json error document has exactly code, message, hint (null when none) and exitCode', () => {
    expect(new OrchError('notFound', 'no job', 'see orch list').toDocument()).toEqual({error: {code: 'notFound', message: 'no job', hint: 'see orch list', exitCode: 4}})
    expect(new OrchError('conflict', 'in use').toDocument()).toEqual({error: {code: 'conflict', message: 'in use', hint: null, exitCode: 5}})
    expect(new OrchError('usage', 'a secret here', 'and here').toDocument((text) => text.replace('secret', '[redacted]')).error).toMatchObject({message: 'a [redacted] here'})
  })

  it('the README lists every error code with its exit status', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    for (const [code, exit] of Object.entries(EXIT_CODES)) {
      if (code === 'ok') continue
      expect(readme).toContain(`| ${exit} | \`${code}\` |`)
    }
  })
})
