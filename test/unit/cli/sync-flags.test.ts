/** `orch run --sync` takes an optional value, read by the one parser from run's declared flags. */
import {describe, expect, it} from 'vitest'

import {parseCommandLine} from '../../../src/cli/parse.js'
import {syncSourceFromFlags} from '../../../src/cli/sync-flags.js'
import Run from '../../../src/commands/run.js'

describe('--sync takes an optional value', () => {
  it.each([
    [['x', '--sync', '--', 'ls'], '', ['ls']],
    [['x', '--sync'], '', []],
    [['x', '--sync', '--where', 'cloud'], '', []],
    [['x', '--sync', 'src', '--', 'ls'], 'src', ['ls']],
    [['x', '--sync=', 'ls'], '', ['ls']],
    [['x', '--', 'echo', '--sync'], undefined, ['echo', '--sync']],
  ])('%j → --sync %j, command %j', (argv, sync, words) => {
    const parsed = parseCommandLine(Run.spec, argv)
    expect(parsed.flags.sync).toBe(sync)
    expect(parsed.words).toEqual(words)
  })

  it('--remote-dir without --sync is refused', async () => {
    await expect(syncSourceFromFlags({'remote-dir': '/srv/x'})).rejects.toThrow('--remote-dir needs --sync')
  })
})
