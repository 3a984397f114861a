import {describe, expect, it} from 'vitest'

import {wholeCharacters} from '../../../src/jobs/log-page.js'

describe('wholeCharacters: a log page never ends inside a UTF-8 character', () => {
  const bytes = (text: string) => Buffer.from(text)

  it('keeps text that ends on a character boundary', () => {
    for (const text of ['', 'ascii', 'é', '日本', '🚀', 'x\n']) expect(wholeCharacters(bytes(text))).toBe(bytes(text).length)
  })

  it('drops the start of a character cut at the end', () => {
    for (const [text, whole] of [['aé', 1], ['a日', 1], ['a🚀', 1]] as const) {
      const full = bytes(text)
      for (let cut = whole + 1; cut < full.length; cut++) expect(wholeCharacters(full.subarray(0, cut)), `${text} cut at ${cut}`).toBe(whole)
    }
  })

  it('leaves bytes that are not UTF-8 as they are', () => {
    expect(wholeCharacters(Buffer.from([0x61, 0xff]))).toBe(2)
    expect(wholeCharacters(Buffer.from([0x80, 0x80, 0x80, 0x80]))).toBe(4)
  })
})
