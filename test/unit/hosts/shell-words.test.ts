import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {shellCommand, shellWord} from '../../../src/hosts/shell-words.js'

describe('shell words', () => {
  it('survive a POSIX shell byte for byte', () => {
    const words = ['plain', 'a b', "it's", '"q"', '$HOME', '`x`', 'a\nb', '\t', '日本語 🚀', '-n', '', '\\', '!', '%s']
    const out = execFileSync('sh', ['-c', `for w in ${words.map(shellWord).join(' ')}; do printf '[%s]' "$w"; done`]).toString()
    expect(out).toBe(words.map((w) => `[${w}]`).join(''))
    expect(shellCommand(['sh', '-c', 'echo ok'])).toBe("sh -c 'echo ok'")
  })
})
