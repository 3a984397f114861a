/** .orchignore patterns. */
import {beforeAll, describe, expect, it} from 'vitest'

import {OrchIgnore} from '../../../src/sync/source.js'

describe('.orchignore', () => {
  let rules: OrchIgnore
  beforeAll(async () => {
    rules = await OrchIgnore.parse(['# comment', '*.log', '!keep.log', 'build/', '/top-only', 'docs/**/*.tmp', 'data/raw', '\\#hash', 'a?c', '[xy]z', ''].join('\n'))
  })
  it.each([
    ['x.log', false, true],
    ['deep/x.log', false, true],
    ['keep.log', false, false],
    ['build', true, true],
    ['build', false, false],
    ['src/build', true, true],
    ['top-only', false, true],
    ['sub/top-only', false, false],
    ['docs/a/b/c.tmp', false, true],
    ['docs/c.tmp', false, true],
    ['data/raw', true, true],
    ['x/data/raw', true, false],
    ['#hash', false, true],
    ['abc', false, true],
    ['a/c', false, false],
    ['xz', false, true],
    ['src/main.ts', false, false],
  ])('%s (dir: %s) ignored: %s', (path, isDir, ignored) => {
    expect(rules.ignores(path, isDir)).toBe(ignored)
  })
  it('ignores everything inside an ignored directory', () => {
    expect(rules.ignores('build/keep.log', false)).toBe(true)
    expect(rules.ignores('src/ok.ts', false)).toBe(false)
  })
})
