/** What the tar tests share: scratch directories, hostile names, and archives made by tar-stream. */
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pack} from 'tar-stream'
import {afterAll} from 'vitest'

/** A new empty directory per call, all under one temp dir removed after the file's tests. */
export function scratchDirs(prefix: string): () => string {
  const scratch = mkdtempSync(join(tmpdir(), prefix))
  afterAll(() => rmSync(scratch, {recursive: true, force: true}))
  let counter = 0
  return () => {
    const dir = join(scratch, String(counter++))
    mkdirSync(dir, {recursive: true})
    return dir
  }
}

export const NAMES = ['a file with spaces.txt', `quote's "double".txt`, 'new\nline.txt', 'ünïcødé-日本語.txt', `${'d'.repeat(70)}/${'e'.repeat(70)}/long-${'f'.repeat(90)}.txt`, 'tab\there', '-leading-dash', 'back\\slash']

export interface TestEntry {
  path: string
  kind: 'file' | 'directory' | 'symlink'
  mode: number
  mtime: number
  data?: Buffer
  linkname?: string
}

/** An archive as another tar writer (tar-stream itself) would make it. */
export async function archive(entries: TestEntry[]): Promise<Buffer> {
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
