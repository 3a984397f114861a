/** Reading tar streams, fed by GNU tar and by tar-stream in ustar, gnu and pax formats. */
import {execFileSync} from 'node:child_process'
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {NAMES, scratchDirs, archive, type TestEntry} from '../../helpers/tar-fixtures.js'
import {type TarEntry, TarFormatError, tarReader} from '../../../src/jobs/tar-entries.js'

const freshDir = scratchDirs('orch-unit-tar-')

async function readAll(buffer: Buffer, chunkSize = 777): Promise<Array<TarEntry & {data: Buffer}>> {
  const out: Array<TarEntry & {data: Buffer}> = []
  const reader = await tarReader((entry) => {
    const record = {...entry, data: Buffer.alloc(0)}
    out.push(record)
    const chunks: Buffer[] = []
    return {write: (chunk) => void chunks.push(chunk), end: () => void (record.data = Buffer.concat(chunks))}
  })
  for (let i = 0; i < buffer.length; i += chunkSize) await reader.push(buffer.subarray(i, i + chunkSize))
  await reader.end()
  return out
}

describe('reading tar streams', () => {
  it('reads another writer\'s output in any chunking', async () => {
    const entries: TestEntry[] = NAMES.map((path, i) => ({path, kind: 'file', mode: 0o640, mtime: 42, data: Buffer.alloc(i * 100 + 1, i)}))
    entries.push({path: 'dir', kind: 'directory', mode: 0o755, mtime: 42}, {path: 'l', kind: 'symlink', mode: 0o777, mtime: 42, linkname: 'y'.repeat(130)})
    const buffer = await archive(entries)
    for (const size of [1, 100, 512, 513, 65536]) {
      const read = await readAll(buffer, size)
      expect(read.map((e) => e.path.replace(/\/$/, ''))).toEqual(entries.map((e) => e.path))
      expect(read.filter((e) => e.type === 'file').map((e) => e.data)).toEqual(entries.filter((e) => e.kind === 'file').map((e) => e.data))
      expect(read.find((e) => e.type === 'symlink')?.linkname).toBe('y'.repeat(130))
      expect(read.find((e) => e.path === 'dir')).toMatchObject({type: 'directory', mode: 0o755, mtime: 42})
    }
  })

  it.each(['gnu', 'pax', 'ustar', 'posix'])('reads GNU tar --format=%s, hard links included', async (format) => {
    const dir = freshDir()
    const names = format === 'ustar' ? NAMES.filter((n) => Buffer.byteLength(n) < 100) : NAMES
    for (const [i, name] of names.entries()) {
      mkdirSync(join(dir, name, '..'), {recursive: true})
      writeFileSync(join(dir, name), `file ${i}`)
    }
    symlinkSync('a file with spaces.txt', join(dir, 'sym'))
    execFileSync('ln', [join(dir, 'a file with spaces.txt'), join(dir, 'hard')])
    const tar = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', dir, '.'], {maxBuffer: 1 << 26})
    const read = await readAll(tar)
    const files = new Map(read.filter((e) => e.type === 'file').map((e) => [e.path.replace(/^\.\//, ''), e.data.toString()]))
    for (const [i, name] of names.entries()) expect(files.get(name) ?? read.find((e) => e.path.replace(/^\.\//, '') === name)?.type).toBe(files.has(name) ? `file ${i}` : 'hardlink')
    expect(read.find((e) => e.path === './sym')).toMatchObject({type: 'symlink', linkname: 'a file with spaces.txt'})
    expect(read.some((e) => e.type === 'hardlink')).toBe(true)
  })

  it('refuses a corrupt header and a truncated stream', async () => {
    const good = await archive([{path: 'x', kind: 'file', mode: 0o644, mtime: 0, data: Buffer.from('hello')}])
    const bad = Buffer.from(good)
    bad[10] = bad[10]! ^ 0xff
    await expect(readAll(bad)).rejects.toBeInstanceOf(TarFormatError)
    await expect(readAll(good.subarray(0, 600))).rejects.toBeInstanceOf(TarFormatError)
  })
})
