import {describe, expect, it} from 'vitest'

import {syncedLine as formatSynced} from '../../../src/sync/sync.js'

describe('syncedLine', () => {
  it('counts files and bytes, and names where they went', () => {
    expect(formatSynced({files: 3, bytes: 2048, deleted: 0, remoteDir: '/home/u/work/app'}, 'u@host')).toBe('synced 3 files (2 KB) to u@host:/home/u/work/app')
  })

  it('one file, and the deletions when there are some', () => {
    expect(formatSynced({files: 1, bytes: 0, deleted: 2, remoteDir: '/w'}, 'h')).toBe('synced 1 file (0 B), deleted 2 to h:/w')
  })

  it('large sizes and a remote directory with spaces and unicode, as they are', () => {
    expect(formatSynced({files: 10_000, bytes: 100 * 1024 ** 2, deleted: 0, remoteDir: '/srv/données du projet'}, 'u@h')).toBe('synced 10000 files (100 MB) to u@h:/srv/données du projet')
  })
})
