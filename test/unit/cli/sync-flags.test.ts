/** `--sync` takes an optional value. */
import {describe, expect, it} from 'vitest'

import {withOptionalSyncValue} from '../../../src/cli/sync-flags.js'

describe('--sync takes an optional value', () => {
  it.each([
    [['x', '--sync', '--', 'ls'], ['x', '--sync=', '--', 'ls']],
    [['x', '--sync'], ['x', '--sync=']],
    [['x', '--sync', '--where', 'cloud'], ['x', '--sync=', '--where', 'cloud']],
    [['x', '--sync', 'src', '--', 'ls'], ['x', '--sync', 'src', '--', 'ls']],
    [['x', '--', 'echo', '--sync'], ['x', '--', 'echo', '--sync']],
  ])('%j → %j', (argv, expected) => {
    expect(withOptionalSyncValue(argv)).toEqual(expected)
  })
})
