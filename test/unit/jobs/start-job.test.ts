import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {commandText, parseEnvPairs} from '../../../src/jobs/start-job.js'
import {OrchError} from '../../../src/errors/errors.js'

describe('command text', () => {
  it('keeps one argument as a script and several as exact words', () => {
    expect(commandText(['make && ./deploy | tee "out"'])).toBe('make && ./deploy | tee "out"')
    const text = commandText(['printf', '%s\\n', 'a b', "c'd", '$HOME'])
    expect(execFileSync('sh', ['-c', text]).toString()).toBe("a b\nc'd\n$HOME\n")
    expect(() => commandText([])).toThrow(/no command/)
  })
  it('validates --env names', () => {
    expect(parseEnvPairs(['A=1', 'B_2=x=y', 'C='])).toEqual({A: '1', B_2: 'x=y', C: ''})
    expect(() => parseEnvPairs(['1A=x'])).toThrow(OrchError)
    expect(() => parseEnvPairs(['noequals'])).toThrow(OrchError)
  })
})
