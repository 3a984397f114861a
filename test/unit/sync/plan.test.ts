/** The sync plan, from the local listing and the host manifest. */
import {describe, expect, it} from 'vitest'

import {type LocalEntry, type RemoteEntry, isSafeRelativePath, parseManifest} from '../../../src/sync/listing.js'
import {planSync} from '../../../src/sync/plan.js'

describe('sync plan', () => {
  const local = (entries: LocalEntry[]) => new Map(entries.map((e) => [e.path, e]))
  const remote = (entries: Array<[string, RemoteEntry]>) => new Map(entries)
  const f = (path: string, size = 1, mtime = 100, mode = 0o644): LocalEntry => ({path, kind: 'f', size, mtime, mode})
  const rf = (size = 1, mtime = 100, mode = 0o644): RemoteEntry => ({kind: 'f', size, mtime, mode, target: ''})

  it('sends new and changed entries only', () => {
    const plan = planSync(
      local([f('same'), f('bigger', 2), f('newer', 1, 101), f('exec', 1, 100, 0o755), f('new'), {path: 'l', kind: 'l', size: 0, mtime: 0, mode: 0o777, target: 'b'}]),
      remote([
        ['same', rf()],
        ['bigger', rf()],
        ['newer', rf()],
        ['exec', rf()],
        ['l', {kind: 'l', size: 1, mtime: 0, mode: 0o777, target: 'a'}],
      ]),
      ['same', 'bigger', 'newer', 'exec', 'l'],
    )
    expect(plan.send.map((e) => e.path)).toEqual(['bigger', 'exec', 'l', 'new', 'newer'])
    expect(plan.remove).toEqual([])
    expect(plan.noop).toBe(false)
  })

  it('deletes what the last sync placed and is gone locally, never what the job made', () => {
    const plan = planSync(
      local([f('kept'), {path: 'd', kind: 'd', size: 0, mtime: 0, mode: 0o755}]),
      remote([
        ['kept', rf()],
        ['gone', rf()],
        ['d', {kind: 'd', size: 0, mtime: 0, mode: 0o755, target: ''}],
        ['old', {kind: 'd', size: 0, mtime: 0, mode: 0o755, target: ''}],
        ['old/deeper', {kind: 'd', size: 0, mtime: 0, mode: 0o755, target: ''}],
        ['job-output.csv', rf()],
      ]),
      ['kept', 'gone', 'd', 'old', 'old/deeper', 'never-there', '../escape'],
    )
    expect(plan.remove).toEqual(['gone'])
    expect(plan.rmdirs).toEqual(['old/deeper', 'old'])
    expect(plan.deleted).toBe(1)
    expect(plan.managed.sort()).toEqual(['d', 'kept'])
  })

  it('replaces an entry whose type changed', () => {
    const plan = planSync(local([f('was-dir'), {path: 'was-file', kind: 'd', size: 0, mtime: 0, mode: 0o755}]), remote([
      ['was-dir', {kind: 'd', size: 0, mtime: 0, mode: 0o755, target: ''}],
      ['was-file', rf()],
    ]), [])
    expect(plan.remove.sort()).toEqual(['was-dir', 'was-file'])
    expect(plan.send.map((e) => e.path)).toEqual(['was-dir', 'was-file'])
  })

  it('is a no-op when nothing differs and the placed list is the same', () => {
    expect(planSync(local([f('a')]), remote([['a', rf()]]), ['a']).noop).toBe(true)
    expect(planSync(local([f('a')]), remote([['a', rf()]]), []).noop).toBe(false)
  })

  it('parses the host manifest and drops unsafe paths', () => {
    const manifest = Buffer.from('f 12 755 1700000000.5000000000\0run.sh\0\0l 6 777 1.0\0link\0run.sh\0d 4096 755 2.0\0dir with\nnewline\0\0f 1 644 3.0\0../escape\0\0')
    const parsed = parseManifest(manifest)
    expect(parsed.get('run.sh')).toEqual({kind: 'f', size: 12, mode: 0o755, mtime: 1700000000, target: ''})
    expect(parsed.get('link')?.target).toBe('run.sh')
    expect(parsed.get('dir with\nnewline')?.kind).toBe('d')
    expect(parsed.has('../escape')).toBe(false)
    expect(isSafeRelativePath('a/./b')).toBe(false)
  })
})
