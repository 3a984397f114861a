/**
 * A tar stream as a sequence of entries, parsed by `tar-stream` (ustar, pax, GNU long names,
 * base-256 numbers; header checksums verified; long headers limited to 4 MiB; zero blocks
 * skipped, so concatenated archives and record padding read fine). It only parses: whether an
 * entry may be written is the caller's decision (see pull-results.ts).
 *
 * `orch pull` loads tar-stream through here when it receives a tar; other commands never do.
 */
import type {Header} from 'tar-stream'

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other'

export interface TarEntry {
  /** The name exactly as the archive gives it (not normalised, not validated). */
  path: string
  type: TarEntryType
  /** The raw typeflag, for messages about 'other' entries. */
  typeflag: string
  mode: number
  /** Seconds since the epoch. */
  mtime: number
  size: number
  linkname: string
}

export interface TarSink {
  write(chunk: Buffer): void | Promise<void>
  end(): void | Promise<void>
}

export class TarFormatError extends Error {}

const TYPES: Record<Header['type'], {type: TarEntryType; typeflag: string}> = {
  file: {type: 'file', typeflag: '0'},
  'contiguous-file': {type: 'file', typeflag: '7'},
  directory: {type: 'directory', typeflag: '5'},
  symlink: {type: 'symlink', typeflag: '2'},
  link: {type: 'hardlink', typeflag: '1'},
  'character-device': {type: 'other', typeflag: '3'},
  'block-device': {type: 'other', typeflag: '4'},
  fifo: {type: 'other', typeflag: '6'},
}

function entryOf(header: Header): TarEntry {
  // tar-stream gives null as the type of a typeflag it does not know.
  const known = (header.type as Header['type'] | null) === null ? undefined : TYPES[header.type]
  return {
    path: header.name,
    type: known?.type ?? 'other',
    typeflag: known?.typeflag ?? '?',
    mode: header.mode & 0o7777,
    mtime: Math.floor(header.mtime.getTime() / 1000),
    size: header.size,
    linkname: header.linkname ?? '',
  }
}

/** tar-stream's messages, in the words orch uses for the host's tar. */
function formatProblem(message: string): string {
  if (/unexpected end/i.test(message)) return 'the tar stream ended in the middle of an entry'
  if (/checksum|corrupted/i.test(message)) return 'bad tar header checksum (not a tar stream, or a corrupt one)'
  if (/exceeds max size/i.test(message)) return 'tar extended header too large'
  return message
}

export interface TarReader {
  /** Feed a chunk; resolves when the parser can take more (backpressure), rejects on the first error. */
  push(chunk: Buffer): Promise<void>
  /** The stream ended: resolves when every entry was handled; rejects on a truncated archive. */
  end(): Promise<void>
}

/**
 * A push parser: for each entry `onEntry` returns where its data goes (or null to drop it);
 * entries are handled one at a time, in order. Parse errors are TarFormatErrors; an error thrown
 * by `onEntry` or a sink is passed on as it is.
 */
export async function tarReader(onEntry: (entry: TarEntry) => TarSink | null | Promise<TarSink | null>): Promise<TarReader> {
  const {extract} = await import('tar-stream')
  // Old (pre-POSIX) headers too: the checksum is still verified.
  const parser = extract({allowUnknownFormat: true} as Parameters<typeof extract>[0])
  let failure: Error | undefined
  const fail = (error: Error) => {
    failure ??= error
    if (!parser.destroyed) parser.destroy(failure)
  }
  // The entry being handled: end() waits for it (tar-stream may finish before its last entry is).
  let handling = Promise.resolve()
  const closed = new Promise<void>((done) => parser.once('close', () => done()))
  parser.on('error', (error: Error) => {
    failure ??= new TarFormatError(formatProblem(error.message))
  })
  parser.on('entry', (header, stream, next) => {
    handling = (async () => {
      const sink = await onEntry(entryOf(header))
      for await (const chunk of stream as AsyncIterable<Buffer>) if (sink) await sink.write(chunk)
      if (sink) await sink.end()
    })().then(
      () => next(),
      (error: Error) => fail(error),
    )
  })
  return {
    async push(chunk) {
      if (failure) throw failure
      if (!parser.write(chunk)) await Promise.race([new Promise<void>((done) => void parser.once('drain', done)), closed])
      if (failure) throw failure
    },
    async end() {
      if (failure) throw failure
      const finished = new Promise<void>((done) => void parser.once('finish', done))
      parser.end(undefined)
      await Promise.race([finished, closed])
      await handling
      if (failure) throw failure
    },
  }
}
