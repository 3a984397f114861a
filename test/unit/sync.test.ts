/**
 * The pure parts of `orch run --sync` and `orch pull`: the tar stream sync sends (checked by GNU
 * tar), reading tar streams (fed by GNU tar, ustar, gnu and pax formats), the safe extractor
 * (hostile entries), .orchignore patterns, the sync plan, and the optional --sync value.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, chmodSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pack} from 'tar-stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {withOptionalSyncValue} from '../../src/cli/sync-flags.js'
import {RefusedEntry, SafeExtractor, validatePullPatterns} from '../../src/jobs/pull-results.js'
import {type TarEntry, TarFormatError, tarReader} from '../../src/jobs/tar-entries.js'
import {OrchError} from '../../src/errors/errors.js'
import {type LocalEntry, type RemoteEntry, isSafeRelativePath, parseManifest} from '../../src/sync/listing.js'
import {type SyncPlan, planSync} from '../../src/sync/plan.js'
import {OrchIgnore} from '../../src/sync/source.js'
import {tarStream} from '../../src/sync/transfer.js'

const scratch = mkdtempSync(join(tmpdir(), 'orch-unit-sync-'))
afterAll(() => rmSync(scratch, {recursive: true, force: true}))
let counter = 0
const freshDir = () => {
  const dir = join(scratch, String(counter++))
  mkdirSync(dir, {recursive: true})
  return dir
}

const NAMES = ['a file with spaces.txt', `quote's "double".txt`, 'new\nline.txt', 'ünïcødé-日本語.txt', `${'d'.repeat(70)}/${'e'.repeat(70)}/long-${'f'.repeat(90)}.txt`, 'tab\there', '-leading-dash', 'back\\slash']

interface TestEntry {
  path: string
  kind: 'file' | 'directory' | 'symlink'
  mode: number
  mtime: number
  data?: Buffer
  linkname?: string
}

/** An archive as another tar writer (tar-stream itself) would make it. */
async function archive(entries: TestEntry[]): Promise<Buffer> {
  const writer = pack()
  for (const entry of entries) {
    const header = {name: entry.path, type: entry.kind, mode: entry.mode, mtime: new Date(entry.mtime * 1000), ...(entry.linkname ? {linkname: entry.linkname} : {})}
    if (entry.kind === 'file') writer.entry(header, entry.data ?? Buffer.alloc(0))
    else writer.entry(header)
  }
  writer.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of writer as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

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

describe('safe extraction (orch pull)', () => {
  async function extract(entries: TestEntry[], root: string): Promise<SafeExtractor> {
    const extractor = new SafeExtractor(root, 'files')
    const reader = await tarReader((entry) => extractor.onEntry(entry))
    await reader.push(await archive(entries))
    await reader.end()
    await extractor.finish()
    return extractor
  }
  const file = (path: string, text = 'x'): TestEntry => ({path, kind: 'file', mode: 0o644, mtime: 1, data: Buffer.from(text)})

  it('writes ordinary entries under root/prefix with their modes', async () => {
    const root = join(freshDir(), 'out')
    mkdirSync(root)
    const result = await extract([file('./a/b.txt', 'bee'), {...file('run.sh', '#!/bin/sh'), mode: 0o755}, {path: 'l', kind: 'symlink', mode: 0o777, mtime: 1, linkname: 'a/b.txt'}], root)
    expect(readFileSync(join(root, 'files/a/b.txt'), 'utf8')).toBe('bee')
    expect(lstatSync(join(root, 'files/run.sh')).mode & 0o777).toBe(0o755)
    expect(readlinkSync(join(root, 'files/l'))).toBe('a/b.txt')
    expect(result.pulled).toEqual({files: 3, bytes: 12})
  })

  it.each([
    ['an absolute path', [file('/etc/evil')]],
    ['..', [file('../evil')]],
    ['.. in the middle', [file('a/../../evil')]],
    ['a symlink to an absolute path', [{path: 'l', kind: 'symlink', mode: 0o777, mtime: 1, linkname: '/etc'} as TestEntry]],
    ['a symlink climbing out', [{path: 'a/l', kind: 'symlink', mode: 0o777, mtime: 1, linkname: '../../..'} as TestEntry]],
    ['a write through a symlink made earlier', [{path: 'd', kind: 'symlink', mode: 0o777, mtime: 1, linkname: '.'} as TestEntry, file('d/x')]],
  ])('refuses %s and writes nothing outside root', async (_what, entries) => {
    const base = freshDir()
    const root = join(base, 'out')
    mkdirSync(root)
    await expect(extract(entries as TestEntry[], root)).rejects.toBeInstanceOf(RefusedEntry)
    expect(existsSync(join(root, 'files/x'))).toBe(false)
    expect(readdirSync(base)).toEqual(['out'])
    expect(existsSync('/etc/evil')).toBe(false)
  })

  it('refuses a hard link to anything but a file it pulled', async () => {
    const root = join(freshDir(), 'out')
    mkdirSync(root)
    const extractor = new SafeExtractor(root, 'files')
    const entry: TarEntry = {path: 'h', type: 'hardlink', typeflag: '1', mode: 0o644, mtime: 1, size: 0, linkname: '../../etc/passwd'}
    await expect(extractor.onEntry(entry)).rejects.toBeInstanceOf(RefusedEntry)
    await expect(extractor.onEntry({...entry, linkname: 'not-pulled'})).rejects.toBeInstanceOf(RefusedEntry)
  })

  it('replaces an earlier pull (file, directory or symlink) without following links', async () => {
    const base = freshDir()
    const root = join(base, 'out')
    mkdirSync(join(root, 'files'), {recursive: true})
    writeFileSync(join(base, 'victim'), 'untouched')
    symlinkSync('../../victim', join(root, 'files', 'x'))
    await extract([file('x', 'new')], root)
    expect(readFileSync(join(base, 'victim'), 'utf8')).toBe('untouched')
    expect(readFileSync(join(root, 'files/x'), 'utf8')).toBe('new')
    expect(lstatSync(join(root, 'files/x')).isSymbolicLink()).toBe(false)
  })

  it('validates pull patterns before anything is asked of a host', () => {
    expect(() => validatePullPatterns(['out/*.csv', 'model.pt', 'a b/c'])).not.toThrow()
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', '~/x', '', 'a\nb']) expect(() => validatePullPatterns([bad])).toThrow(OrchError)
  })
})

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
