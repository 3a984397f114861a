/** The safe extractor of `orch pull` (hostile entries) and its --include/--exclude patterns. */
import {existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {scratchDirs, archive, type TestEntry} from '../../helpers/tar-fixtures.js'
import {RefusedEntry, SafeExtractor, validatePullPatterns} from '../../../src/jobs/pull-results.js'
import {type TarEntry, tarReader} from '../../../src/jobs/tar-entries.js'
import {OrchError} from '../../../src/errors/errors.js'

const freshDir = scratchDirs('orch-unit-pull-')

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
    ['a symlink climbing out', [{path: 'a/l', kind: 'symlink', mode: 0o777, mtime: 1, linkname: '../../../..'} as TestEntry]],
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
    const entry: TarEntry = {path: 'h', type: 'hardlink', typeflag: '1', mode: 0o644, mtime: 1, size: 0, linkname: '../../../etc/passwd'}
    await expect(extractor.onEntry(entry)).rejects.toBeInstanceOf(RefusedEntry)
    await expect(extractor.onEntry({...entry, linkname: 'not-pulled'})).rejects.toBeInstanceOf(RefusedEntry)
  })

  it('replaces an earlier pull (file, directory or symlink) without following links', async () => {
    const base = freshDir()
    const root = join(base, 'out')
    mkdirSync(join(root, 'files'), {recursive: true})
    writeFileSync(join(base, 'victim'), 'untouched')
    symlinkSync('../../../victim', join(root, 'files', 'x'))
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
