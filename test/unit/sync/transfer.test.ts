/** The tar stream `orch run --sync` sends, checked by GNU tar. */
import {execFileSync} from 'node:child_process'
import {lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, utimesSync, chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {NAMES, scratchDirs} from '../../helpers/tar-fixtures.js'
import type {LocalEntry} from '../../../src/sync/listing.js'
import type {SyncPlan} from '../../../src/sync/plan.js'
import {tarStream} from '../../../src/sync/transfer.js'

const freshDir = scratchDirs('orch-unit-sync-')

/** What `orch run --sync` sends for `plan`, without its "tar\n" line. */
async function syncArchive(root: string, plan: SyncPlan): Promise<{tar: Buffer; failure: {error?: Error}}> {
  const failure: {error?: Error} = {}
  const chunks: Buffer[] = []
  for await (const chunk of tarStream(root, plan, failure)) chunks.push(chunk)
  const all = Buffer.concat(chunks)
  expect(all.subarray(0, 4).toString()).toBe('tar\n')
  return {tar: all.subarray(4), failure}
}

const planOf = (send: LocalEntry[], extra: Partial<SyncPlan> = {}): SyncPlan => ({send, remove: [], rmdirs: [], managed: send.map((e) => e.path), deleted: 0, noop: false, ...extra})

describe('the tar stream of a sync', () => {
  it('is what GNU tar extracts byte for byte: odd names, long names, modes, mtimes, symlinks, control lists', async () => {
    const root = freshDir()
    const mtime = 1_700_000_123
    const send: LocalEntry[] = []
    const contents = new Map<string, Buffer>()
    const addFile = (path: string, data: Buffer, mode: number) => {
      mkdirSync(join(root, path, '..'), {recursive: true})
      writeFileSync(join(root, path), data)
      chmodSync(join(root, path), mode)
      utimesSync(join(root, path), mtime, mtime)
      contents.set(path, data)
      send.push({path, kind: 'f', size: data.length, mode, mtime})
    }
    NAMES.forEach((path, i) => addFile(path, Buffer.from(`content ${i}\n${'x'.repeat(i * 300)}`), i % 2 ? 0o755 : 0o644))
    addFile('empty-file', Buffer.alloc(0), 0o600)
    addFile('exactly-512', Buffer.alloc(512, 1), 0o644)
    // Above the size streamed in chunks rather than read whole.
    addFile('big.bin', Buffer.alloc(3 * 1024 * 1024 + 7, 3), 0o640)
    mkdirSync(join(root, 'empty-dir'))
    send.push({path: 'empty-dir', kind: 'd', size: 0, mode: 0o750, mtime})
    send.push({path: 'link', kind: 'l', size: 0, mode: 0o777, mtime, target: 'a file with spaces.txt'})
    send.push({path: 'long-link', kind: 'l', size: 0, mode: 0o777, mtime, target: `../${'t'.repeat(150)}/ü`})
    const {tar, failure} = await syncArchive(root, planOf(send, {remove: ['gone'], rmdirs: ['old/deeper', 'old']}))
    expect(failure.error).toBeUndefined()
    const dir = freshDir()
    execFileSync('tar', ['-xpf', '-', '-C', dir], {input: tar, env: {...process.env, LC_ALL: 'C'}, maxBuffer: 1 << 26})
    for (const entry of send) {
      const path = join(dir, 'tree', entry.path)
      const info = lstatSync(path)
      if (entry.kind === 'f') {
        expect(readFileSync(path)).toEqual(contents.get(entry.path))
        expect(info.mode & 0o777).toBe(entry.mode)
        expect(Math.floor(info.mtimeMs / 1000)).toBe(mtime)
      } else if (entry.kind === 'l') expect(readlinkSync(path)).toBe(entry.target)
      else expect(statSync(path).isDirectory()).toBe(true)
    }
    expect(readFileSync(join(dir, 'ctl/remove'), 'utf8')).toBe('./gone\0')
    expect(readFileSync(join(dir, 'ctl/rmdirs'), 'utf8')).toBe('./old/deeper\0./old\0')
    expect(readFileSync(join(dir, 'ctl/managed'), 'utf8').split('\0').filter(Boolean)).toEqual(send.map((e) => e.path))
    expect(readFileSync(join(dir, 'ctl/complete'), 'utf8')).toBe('ok\n')
  })

  it('ends without ctl/complete when a local file cannot be read, and says which', async () => {
    const root = freshDir()
    writeFileSync(join(root, 'ok.txt'), 'fine')
    const send: LocalEntry[] = [
      {path: 'ok.txt', kind: 'f', size: 4, mode: 0o644, mtime: 1},
      {path: 'vanished.txt', kind: 'f', size: 10, mode: 0o644, mtime: 1},
    ]
    const {tar, failure} = await syncArchive(root, planOf(send))
    expect(failure.error?.message).toContain('vanished.txt')
    // Cut where the failure came: the host's tar fails or finds no ctl/complete, and changes nothing.
    expect(tar.includes('ctl/managed')).toBe(true)
    expect(tar.includes('ctl/complete')).toBe(false)
  })
})
