/**
 * A small tar (ustar + pax) writer and a streaming reader, enough for `orch run --sync` (writing)
 * and `orch pull` (reading what a host's tar sends). No tar library is installed; `tar-stream`
 * would replace this module if one is added.
 *
 * Writer: ustar headers, and a pax extended header ('x') in front of an entry whose name or link
 * target is longer than 100 bytes or whose size does not fit 11 octal digits; pax records are
 * UTF-8 and byte-exact (GNU tar, bsdtar and busybox keep the bytes), so names with spaces,
 * quotes, newlines and UTF-8 survive.
 *
 * Reader: ustar, pax ('x' per entry, 'g' ignored), GNU long names ('L', 'K') and base-256
 * numbers; the header checksum is verified; zero blocks are skipped, so concatenated archives
 * and record padding read fine. It only parses: whether an entry may be written is the caller's
 * decision (see pull-results.ts).
 */

export const BLOCK = 512
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2)

export type TarKind = 'file' | 'directory' | 'symlink'

export interface TarHeader {
  path: string
  kind: TarKind
  /** Permission bits (e.g. 0o755). */
  mode: number
  /** Seconds since the epoch. */
  mtime: number
  /** Bytes of data that follow (files only). */
  size?: number
  /** Symlink target. */
  linkname?: string
}

const MAX_OCTAL_11 = 0o77777777777

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK
  return rest === 0 ? EMPTY : Buffer.alloc(BLOCK - rest)
}
const EMPTY = Buffer.alloc(0)

/** One pax record: "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.byteLength(` ${key}=${value}\n`)
  let length = body + String(body).length
  if (String(length).length !== String(body).length) length = body + String(length).length
  return Buffer.from(`${length} ${key}=${value}\n`)
}

/** A header with the constant fields filled in (uid, gid, magic, version); copied for each entry. */
const TEMPLATE = (() => {
  const block = Buffer.alloc(BLOCK)
  block.write('0000000\0', 108, 8, 'ascii')
  block.write('0000000\0', 116, 8, 'ascii')
  block.write('ustar\u000000', 257, 8, 'ascii')
  return block
})()

/** `length - 1` octal digits and a NUL, written as bytes (no string is built). */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  let rest = Math.max(0, Math.floor(value))
  for (let i = offset + length - 2; i >= offset; i--) {
    block[i] = 0x30 + (rest % 8)
    rest = Math.floor(rest / 8)
  }
  block[offset + length - 1] = 0
}

/** One ustar header block, written into `target` at `at` (a new block when no target is given). */
function ustarBlock(fields: {name: string; mode: number; size: number; mtime: number; type: string; linkname: string}, target?: Buffer, at = 0): Buffer {
  const block = target ?? Buffer.alloc(BLOCK)
  TEMPLATE.copy(block, at)
  block.write(fields.name, at, 100, 'utf8')
  writeOctal(block, at + 100, 8, fields.mode & 0o7777)
  writeOctal(block, at + 124, 12, Math.min(fields.size, MAX_OCTAL_11))
  writeOctal(block, at + 136, 12, Math.min(Math.max(0, fields.mtime), MAX_OCTAL_11))
  block[at + 156] = fields.type.charCodeAt(0)
  if (fields.linkname) block.write(fields.linkname, at + 157, 100, 'utf8')
  // The checksum counts its own field as eight spaces.
  let sum = 8 * 0x20
  for (let i = at; i < at + 148; i++) sum += block[i]!
  for (let i = at + 156; i < at + BLOCK; i++) sum += block[i]!
  writeOctal(block, at + 148, 7, sum)
  block[at + 155] = 0x20
  return target ? block.subarray(at, at + BLOCK) : block
}

/** Whether an entry's header needs a pax extended header in front (a long name or link, a huge size). */
export function needsPax(header: TarHeader): boolean {
  const name = header.kind === 'directory' && !header.path.endsWith('/') ? `${header.path}/` : header.path
  const linkname = header.linkname ?? ''
  const size = header.kind === 'file' ? (header.size ?? 0) : 0
  return name.length > 100 || linkname.length > 100 || Buffer.byteLength(name) > 100 || Buffer.byteLength(linkname) > 100 || size > MAX_OCTAL_11
}

/**
 * Write the header of an entry into `target` at `at` when it is one plain ustar block (the usual
 * case: no allocation); returns the bytes written, or 0 when it needs a pax header (use tarHeader).
 */
export function writeTarHeader(header: TarHeader, target: Buffer, at: number): number {
  if (needsPax(header)) return 0
  const name = header.kind === 'directory' && !header.path.endsWith('/') ? `${header.path}/` : header.path
  const linkname = header.linkname ?? ''
  const size = header.kind === 'file' ? (header.size ?? 0) : 0
  ustarBlock({name, mode: header.mode, size, mtime: header.mtime, type: header.kind === 'file' ? '0' : header.kind === 'directory' ? '5' : '2', linkname}, target, at)
  return BLOCK
}

/**
 * The header block(s) of one entry: a pax header first when a field does not fit ustar. Names
 * that fit ustar go in the name field as raw UTF-8 bytes (readers keep them as bytes).
 */
export function tarHeader(header: TarHeader): Buffer {
  const name = header.kind === 'directory' && !header.path.endsWith('/') ? `${header.path}/` : header.path
  const linkname = header.linkname ?? ''
  const size = header.kind === 'file' ? (header.size ?? 0) : 0
  const records: Buffer[] = []
  if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', name))
  if (Buffer.byteLength(linkname) > 100) records.push(paxRecord('linkpath', linkname))
  if (size > MAX_OCTAL_11) records.push(paxRecord('size', String(size)))
  const type = header.kind === 'file' ? '0' : header.kind === 'directory' ? '5' : '2'
  const main = ustarBlock({
    name: Buffer.byteLength(name) > 100 ? truncateUtf8(name, 100) : name,
    mode: header.mode,
    size,
    mtime: header.mtime,
    type,
    linkname: Buffer.byteLength(linkname) > 100 ? truncateUtf8(linkname, 100) : linkname,
  })
  if (records.length === 0) return main
  const data = Buffer.concat(records)
  const pax = ustarBlock({name: truncateUtf8(`PaxHeader/${name}`, 100), mode: 0o644, size: data.length, mtime: header.mtime, type: 'x', linkname: ''})
  return Buffer.concat([pax, data, padding(data.length), main])
}

/** At most `max` bytes of `text`, never cutting a UTF-8 sequence. */
function truncateUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text)
  if (bytes.length <= max) return text
  let end = max
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

// ---------------------------------------------------------------- reader

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other'

export interface TarEntry {
  /** The name exactly as the archive gives it (not normalised, not validated). */
  path: string
  type: TarEntryType
  /** The raw typeflag, for messages about 'other' entries. */
  typeflag: string
  mode: number
  mtime: number
  size: number
  linkname: string
}

export interface TarSink {
  write(chunk: Buffer): void | Promise<void>
  end(): void | Promise<void>
}

export class TarFormatError extends Error {}

/** Read a numeric header field: octal text, or GNU base-256 when the top bit is set. */
function readNumber(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length)
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!
    return value
  }
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim()
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad numeric field "${text}" in a tar header`)
  return parseInt(text, 8)
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length)
  const nul = field.indexOf(0)
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8')
}

function checksumOk(block: Buffer): boolean {
  const stored = readNumber(block, 148, 8)
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!
    unsigned += byte
    signed += byte > 127 ? byte - 256 : byte
  }
  return stored === unsigned || stored === signed
}

function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>()
  let offset = 0
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset)
    if (space === -1) break
    const length = Number(data.subarray(offset, space).toString('ascii'))
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length) throw new TarFormatError('bad pax extended header')
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1))
    offset += length
  }
  return records
}

type ReaderState =
  | {kind: 'header'}
  | {kind: 'meta'; typeflag: string; remaining: number; padding: number; chunks: Buffer[]}
  | {kind: 'data'; sink: TarSink | null; remaining: number; padding: number}
  | {kind: 'skip'; remaining: number}

/**
 * A push parser: feed it chunks (awaiting each push gives backpressure), then call end(). For
 * each entry `onEntry` returns where its data goes (or null to drop it).
 */
export class TarReader {
  private pending: Buffer = EMPTY
  private state: ReaderState = {kind: 'header'}
  private pax = new Map<string, string>()
  private longName?: string
  private longLink?: string
  private sawHeader = false

  constructor(private readonly onEntry: (entry: TarEntry) => TarSink | null | Promise<TarSink | null>) {}

  async push(chunk: Buffer): Promise<void> {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    let offset = 0
    for (;;) {
      const state = this.state
      if (state.kind === 'header' || state.kind === 'meta') {
        if (state.kind === 'header') {
          if (this.pending.length - offset < BLOCK) break
          const block = this.pending.subarray(offset, offset + BLOCK)
          offset += BLOCK
          await this.header(block)
        } else {
          const want = Math.min(state.remaining + state.padding, this.pending.length - offset)
          if (want === 0 && state.remaining + state.padding > 0) break
          const take = Math.min(want, state.remaining)
          if (take > 0) state.chunks.push(Buffer.from(this.pending.subarray(offset, offset + take)))
          state.remaining -= take
          const pad = Math.min(want - take, state.padding)
          state.padding -= pad
          offset += take + pad
          if (state.remaining === 0 && state.padding === 0) this.finishMeta(state)
          else break
        }
      } else if (state.kind === 'data') {
        const available = this.pending.length - offset
        if (available === 0 && state.remaining + state.padding > 0) break
        const take = Math.min(available, state.remaining)
        if (take > 0) {
          const piece = this.pending.subarray(offset, offset + take)
          // The sink may keep the chunk: copy it out of the shared buffer.
          if (state.sink) await state.sink.write(Buffer.from(piece))
          state.remaining -= take
          offset += take
        }
        if (state.remaining === 0) {
          const pad = Math.min(this.pending.length - offset, state.padding)
          state.padding -= pad
          offset += pad
          if (state.padding === 0) {
            if (state.sink) await state.sink.end()
            this.state = {kind: 'header'}
          } else break
        } else break
      } else {
        const take = Math.min(this.pending.length - offset, state.remaining)
        state.remaining -= take
        offset += take
        if (state.remaining === 0) this.state = {kind: 'header'}
        else break
      }
    }
    this.pending = offset === this.pending.length ? EMPTY : this.pending.subarray(offset)
  }

  /** The stream ended: complain about a truncated archive. */
  end(): void {
    if (this.state.kind !== 'header' || this.pending.length > 0) throw new TarFormatError('the tar stream ended in the middle of an entry')
  }

  /** Whether any header (not only zero blocks) was read. */
  get sawEntries(): boolean {
    return this.sawHeader
  }

  private async header(block: Buffer): Promise<void> {
    if (block.every((byte) => byte === 0)) return
    if (!checksumOk(block)) throw new TarFormatError('bad tar header checksum (not a tar stream, or a corrupt one)')
    this.sawHeader = true
    const typeflag = String.fromCharCode(block[156]!)
    const size = readNumber(block, 124, 12)
    const dataPadding = (BLOCK - (size % BLOCK)) % BLOCK
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > 16 * 1024 * 1024) throw new TarFormatError('tar extended header too large')
      this.state = {kind: 'meta', typeflag, remaining: size, padding: dataPadding, chunks: []}
      if (size === 0) this.finishMeta(this.state)
      return
    }
    const magic = block.subarray(257, 263).toString('ascii')
    let path = readString(block, 0, 100)
    if (magic.startsWith('ustar')) {
      const prefix = readString(block, 345, 155)
      if (prefix && magic === 'ustar\0') path = `${prefix}/${path}`
    }
    let linkname = readString(block, 157, 100)
    const pax = this.pax
    if (this.longName !== undefined) path = this.longName
    if (this.longLink !== undefined) linkname = this.longLink
    if (pax.has('path')) path = pax.get('path')!
    if (pax.has('linkpath')) linkname = pax.get('linkpath')!
    const realSize = pax.has('size') ? Number(pax.get('size')) : size
    const mtime = pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : readNumber(block, 136, 12)
    this.pax = new Map()
    this.longName = undefined
    this.longLink = undefined
    const type: TarEntryType =
      typeflag === '0' || typeflag === '\0' || typeflag === '7'
        ? 'file'
        : typeflag === '5'
          ? 'directory'
          : typeflag === '2'
            ? 'symlink'
            : typeflag === '1'
              ? 'hardlink'
              : 'other'
    // Only regular files carry data; others may still declare a size (skip it).
    const dataSize = type === 'file' || type === 'other' ? realSize : 0
    const entry: TarEntry = {path, type, typeflag, mode: readNumber(block, 100, 8) & 0o7777, mtime, size: dataSize, linkname}
    const sink = await this.onEntry(entry)
    const pad = (BLOCK - (dataSize % BLOCK)) % BLOCK
    if (dataSize === 0) {
      if (sink) await sink.end()
      return
    }
    this.state = {kind: 'data', sink, remaining: dataSize, padding: pad}
  }

  private finishMeta(state: Extract<ReaderState, {kind: 'meta'}>): void {
    const data = Buffer.concat(state.chunks)
    if (state.typeflag === 'x') this.pax = parsePax(data)
    else if (state.typeflag === 'L') this.longName = readString(data, 0, data.length)
    else if (state.typeflag === 'K') this.longLink = readString(data, 0, data.length)
    this.state = {kind: 'header'}
  }
}
