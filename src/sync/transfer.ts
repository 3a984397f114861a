/**
 * The conversation with sh/sync.sh over the job's SSH connection: the frames the host prints
 * first (its directory, what the previous sync placed, its manifest), then what the client sends
 * back: "noop\n", or "tar\n" and a tar stream (written by `tar-stream`) that the host's own tar
 * unpacks into a staging directory.
 */
import {closeSync, constants as fsConstants, openSync, readSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'

import {type Pack, pack} from 'tar-stream'

import {OrchError} from '../errors/errors.js'
import type {SyncPlan} from './plan.js'

type Headers = Parameters<Pack['entry']>[0]

export interface Frames {
  dir: string
  placed: string[]
  manifest: Buffer
}

/** Reads "<tag> <length>\n<data>" frames D, M, F from the sync script's stdout (each copied once). */
export class FrameReader {
  private head: Buffer = Buffer.alloc(0)
  private frame?: {tag: string; data: Buffer; filled: number}
  private readonly frames = new Map<string, Buffer>()
  done = false

  push(input: Buffer): Frames | undefined {
    let chunk = input
    while (!this.done && chunk.length > 0) {
      if (this.frame) {
        const take = Math.min(chunk.length, this.frame.data.length - this.frame.filled)
        chunk.copy(this.frame.data, this.frame.filled, 0, take)
        this.frame.filled += take
        chunk = chunk.subarray(take)
        if (this.frame.filled === this.frame.data.length) {
          this.frames.set(this.frame.tag, this.frame.data)
          this.frame = undefined
          if (this.frames.has('F')) this.done = true
        }
        continue
      }
      const newline = chunk.indexOf(0x0a)
      if (newline === -1) {
        this.head = Buffer.concat([this.head, chunk])
        if (this.head.length > 64) this.garbage(this.head)
        return undefined
      }
      const line = Buffer.concat([this.head, chunk.subarray(0, newline)])
      this.head = Buffer.alloc(0)
      chunk = chunk.subarray(newline + 1)
      const match = /^([A-Z]) (\d+)$/.exec(line.toString('ascii'))
      if (!match) this.garbage(line)
      this.frame = {tag: match![1]!, data: Buffer.allocUnsafe(Number(match![2])), filled: 0}
      if (this.frame.data.length === 0) {
        this.frames.set(this.frame.tag, this.frame.data)
        this.frame = undefined
        if (this.frames.has('F')) this.done = true
      }
    }
    if (!this.done) return undefined
    const placed = this.frames.get('M')?.toString('utf8') ?? ''
    return {
      dir: this.frames.get('D')?.toString('utf8') ?? '',
      placed: placed === '' ? [] : placed.split('\0').filter((path) => path !== ''),
      manifest: this.frames.get('F')!,
    }
  }

  private garbage(text: Buffer): never {
    throw new OrchError('failure', `unexpected output from the host's sync script: ${JSON.stringify(text.subarray(0, 80).toString())}`, 'check that the host runs a POSIX sh')
  }
}

function nulList(paths: readonly string[], prefix = ''): Buffer {
  return Buffer.from(paths.map((path) => `${prefix}${path}\0`).join(''))
}

const SMALL_FILE = 1024 * 1024
const BATCH = 512 * 1024

/**
 * Collects tar-stream's output (a header, the data and the padding of each entry, apart) into
 * 512 KiB buffers: one SSH write per batch instead of three per file.
 */
class Batch {
  private buffer = Buffer.allocUnsafe(BATCH)
  private at = 0

  /** Add a chunk; returns the batch it filled, if any, for the caller to send. */
  add(chunk: Buffer): Buffer | undefined {
    let full: Buffer | undefined
    if (this.buffer.length - this.at < chunk.length) full = this.take()
    if (chunk.length >= BATCH) return full ? Buffer.concat([full, chunk]) : chunk
    chunk.copy(this.buffer, this.at)
    this.at += chunk.length
    return full
  }

  /** The filled part, handed over; a fresh buffer takes its place. */
  take(): Buffer | undefined {
    if (this.at === 0) return undefined
    const out = this.buffer.subarray(0, this.at)
    this.buffer = Buffer.allocUnsafe(BATCH)
    this.at = 0
    return out
  }
}

/** A local file that could not be read: the sync must fail without the host changing anything. */
class ReadFailure extends Error {
  constructor(readonly reason: Error) {
    super(reason.message)
  }
}

/** Read exactly `size` bytes of a file (zeros past its end if it shrank meanwhile). */
function readSmallFile(path: string, size: number): Buffer {
  const data = Buffer.allocUnsafe(size)
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new ReadFailure(error as Error)
  }
  try {
    let done = 0
    while (done < size) {
      const got = readSync(fd, data, done, size - done, null)
      if (got === 0) break
      done += got
    }
    if (done < size) data.fill(0, done)
  } catch (error) {
    throw new ReadFailure(error as Error)
  } finally {
    closeSync(fd)
  }
  return data
}

/** Add one entry; resolves when tar-stream has taken it (its output buffer gives backpressure). */
function added(archive: Pack, header: Headers, data?: Buffer): Promise<void> {
  return new Promise((done, fail) => {
    const settle = (error?: Error | null) => (error ? fail(error) : done())
    if (data) archive.entry(header, data, settle)
    else archive.entry(header, settle)
  })
}

/** A big file, streamed: exactly `size` bytes as its header says (zero-padded if it shrank meanwhile). */
async function addBigFile(archive: Pack, path: string, header: Headers, size: number): Promise<void> {
  // Opened before the header goes out: an unreadable file leaves no partial entry.
  const handle = await open(path, fsConstants.O_RDONLY).catch((error: Error) => {
    throw new ReadFailure(error)
  })
  try {
    let settle!: Promise<void>
    const sink = (() => {
      let entry!: ReturnType<Pack['entry']>
      settle = new Promise((done, fail) => (entry = archive.entry({...header, size}, (error) => (error ? fail(error) : done()))))
      return entry
    })()
    const drained = () => new Promise<void>((done) => void sink.once('drain', done))
    let left = size
    while (left > 0) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, left))
      const {bytesRead} = await handle.read(chunk, 0, chunk.length, null).catch((error: Error) => {
        sink.destroy(error)
        throw new ReadFailure(error)
      })
      if (bytesRead === 0) break
      left -= bytesRead
      if (!sink.write(chunk.subarray(0, bytesRead))) await drained()
    }
    sink.end(left > 0 ? Buffer.alloc(left) : undefined)
    await settle
  } finally {
    await handle.close()
  }
}

const kindOf = {f: 'file', d: 'directory', l: 'symlink'} as const

/** The archive's entries: control lists, the tree's new and changed entries, ctl/complete last. */
async function fill(archive: Pack, root: string, plan: SyncPlan): Promise<void> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000)
  const ctl = (name: string, data: Buffer) => added(archive, {name: `ctl/${name}`, type: 'file', mode: 0o600, mtime: now, size: data.length}, data)
  await ctl('remove', nulList(plan.remove, './'))
  await ctl('rmdirs', nulList(plan.rmdirs, './'))
  await ctl('managed', nulList(plan.managed))
  for (const entry of plan.send) {
    const header: Headers = {name: `tree/${entry.path}`, type: kindOf[entry.kind], mode: entry.mode, mtime: new Date(entry.mtime * 1000)}
    if (entry.kind === 'l') await added(archive, {...header, linkname: entry.target})
    else if (entry.kind === 'd') await added(archive, header)
    else if (entry.size > SMALL_FILE) await addBigFile(archive, join(root, entry.path), header, entry.size)
    else await added(archive, header, readSmallFile(join(root, entry.path), entry.size))
  }
  await ctl('complete', Buffer.from('ok\n'))
  archive.finalize()
}

/**
 * What the client sends when there is something to do: "tar\n" and the archive. A local read
 * failure ends the stream early (no ctl/complete), so the host changes nothing; the error is kept
 * in `failure`.
 */
export async function* tarStream(root: string, plan: SyncPlan, failure: {error?: Error}): AsyncGenerator<Buffer> {
  // Room for a batch and a big file's chunk: tar-stream waits for the reader beyond it.
  const archive = pack({highWaterMark: 2 * SMALL_FILE})
  fill(archive, root, plan).catch((error: Error) => {
    if (error instanceof ReadFailure) failure.error = error.reason
    archive.destroy(error)
  })
  yield Buffer.from('tar\n')
  const batch = new Batch()
  try {
    for await (const chunk of archive as AsyncIterable<Buffer>) {
      const full = batch.add(chunk)
      if (full) yield full
    }
  } catch (error) {
    if (!failure.error) throw error
  }
  const rest = batch.take()
  if (rest) yield rest
}
