/**
 * `orch run --sync`: mirror a local tree to the job's host before the job starts, over the job's
 * own SSH connection, in one exec (see sh/sync.sh for the host's side and its atomicity).
 *
 * What travels: in a git work tree, what git counts as part of it (tracked files plus untracked
 * files that are not ignored: `git ls-files --cached --others --exclude-standard`), plus the
 * `.git` directory itself when the tree is the top of the work tree (so the host copy is a real
 * work tree: `git rev-parse HEAD`, `orch pull --diff` and rollback work there). Outside git,
 * everything. In both cases `.orchignore` (gitignore syntax) removes more.
 *
 * Which entries travel: those whose type, size, mtime (whole seconds) or permission bits differ
 * from the host's manifest, or whose symlink target differs. What is deleted: paths the previous
 * sync placed that are gone locally; files the job created on the host are never deleted (its
 * outputs survive the next sync), a path whose type changed is replaced.
 */
import {execFile} from 'node:child_process'
import {type Dirent, closeSync, constants as fsConstants, lstatSync, openSync, readSync, readdirSync, readlinkSync} from 'node:fs'
import {lstat, open, readFile, realpath, stat} from 'node:fs/promises'
import {basename, isAbsolute, join, posix, relative, resolve, sep} from 'node:path'
import {Readable} from 'node:stream'

import bytes from 'bytes'

import {TransportError} from '../hosts/host.js'
import {OrchError, usageError} from '../output/errors.js'
import type {Progress} from '../output/progress.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {IgnoreRules} from './ignore-rules.js'
import type {JobSite} from './site.js'
import type {JobSpec} from './start-job.js'
import {END_OF_ARCHIVE, type TarHeader, needsPax, padding, tarHeader, writeTarHeader} from './tar.js'

/** Where a sync goes, resolved and validated before anything touches a host. */
export interface SyncSource {
  /** The local directory to mirror (absolute, symlinks resolved). */
  localDir: string
  /** The directory on the host as the user gave it (may start with ~/); default ~/work/<basename>. */
  remoteDir: string
  /** Listed by git (a git work tree) or by walking the directory. */
  git: boolean
  /** The `.git` directory travels too (localDir is the top of its work tree). */
  withGitDir: boolean
  /** Where the caller stands inside localDir ('' at its top or outside it): the job runs there. */
  cwdInside: string
}

/** What `orch run --json` reports as `sync`. */
export interface SyncReport {
  /** Files and symlinks sent. */
  files: number
  /** Bytes of file content sent. */
  bytes: number
  /** Files and symlinks deleted on the host (gone locally since the last sync). */
  deleted: number
  /** The directory on the host (absolute). */
  remoteDir: string
  /** Local entries left out, with why (git submodules, names that are not UTF-8); absent when none. */
  skipped?: string[]
}

export type SyncKind = 'f' | 'l' | 'd'

export interface LocalEntry {
  path: string
  kind: SyncKind
  size: number
  mode: number
  /** Whole seconds. */
  mtime: number
  target?: string
}

export interface RemoteEntry {
  kind: SyncKind | 'o'
  size: number
  mode: number
  mtime: number
  target: string
}

export interface SyncPlan {
  send: LocalEntry[]
  /** Removed with rm -rf before the new entries are placed: deletions and type changes. */
  remove: string[]
  /** Directories removed (when empty) afterwards, deepest first. */
  rmdirs: string[]
  /** The new list of placed paths. */
  managed: string[]
  deleted: number
  /** Nothing to do on the host at all. */
  noop: boolean
}

const DEFAULT_REMOTE_PARENT = '~/work'

function git(args: readonly string[], cwd: string): Promise<{code: number; stdout: Buffer; stderr: string}> {
  return new Promise((done) => {
    execFile('git', args as string[], {cwd, encoding: 'buffer', maxBuffer: 1 << 30}, (error, stdout, stderr) => {
      const code = error ? (typeof (error as {code?: unknown}).code === 'number' ? ((error as {code: number}).code) : 127) : 0
      done({code, stdout: stdout as Buffer, stderr: String(stderr)})
    })
  })
}

/**
 * Resolve `--sync [DIR]` and `--remote-dir`: DIR '' means the git work tree holding cwd, else
 * cwd. Refuses a missing directory or an unusable remote directory.
 */
export async function resolveSyncSource(dir: string, remoteDir: string | undefined, cwd = process.cwd()): Promise<SyncSource> {
  let localDir: string
  if (dir === '') {
    const top = await git(['rev-parse', '--show-toplevel'], cwd).catch(() => ({code: 1, stdout: Buffer.alloc(0)}))
    localDir = top.code === 0 ? top.stdout.toString().replace(/\n$/, '') : cwd
  } else localDir = resolve(cwd, dir)
  try {
    if (!(await stat(localDir)).isDirectory()) throw new Error('not a directory')
    localDir = await realpath(localDir)
  } catch {
    throw usageError(`--sync ${dir}: no such directory`, 'give a directory to mirror to the host, or --sync alone for the current git work tree')
  }
  const top = await git(['rev-parse', '--show-toplevel'], localDir).catch(() => ({code: 1, stdout: Buffer.alloc(0)}))
  const gitTop = top.code === 0 ? top.stdout.toString().replace(/\n$/, '') : undefined
  let withGitDir = false
  if (gitTop !== undefined) {
    const realTop = await realpath(gitTop).catch(() => gitTop)
    withGitDir = realTop === localDir && (await lstat(join(localDir, '.git')).catch(() => undefined))?.isDirectory() === true
  }
  const name = basename(localDir)
  if (!name) throw usageError(`--sync ${dir || localDir}: cannot mirror the root directory`, 'give the project directory')
  const target = remoteDir ?? `${DEFAULT_REMOTE_PARENT}/${name}`
  validateRemoteDir(target)
  const realCwd = await realpath(cwd).catch(() => cwd)
  const inside = relative(localDir, realCwd)
  const cwdInside = inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside.split(sep).join('/') : ''
  return {localDir, remoteDir: target, git: gitTop !== undefined, withGitDir, cwdInside}
}

function validateRemoteDir(dir: string): void {
  const trimmed = dir.replace(/\/+$/, '')
  const parts = trimmed.split('/')
  if (trimmed === '' || trimmed === '~' || trimmed === '.' || dir.includes('\0') || dir.includes('\n') || parts.includes('..') || (parts.length === 2 && parts[0] === '' && parts[1] === '')) {
    throw usageError(`--remote-dir "${dir}" cannot be used`, 'give a directory of its own on the host, e.g. ~/work/myproject (not /, ~, or a path with ..)')
  }
}

/** The job's working directory on the host: the synced copy, at the place the caller stands in it. */
export function jobCwdAfterSync(report: SyncReport, source: SyncSource, requestedCwd?: string): string {
  if (requestedCwd && (requestedCwd.startsWith('/') || requestedCwd === '~' || requestedCwd.startsWith('~/'))) return requestedCwd
  const inside = requestedCwd ?? source.cwdInside
  return inside ? posix.join(report.remoteDir, inside) : report.remoteDir
}

// ---------------------------------------------------------------- the local tree

/** Let the event loop run (the SSH handshake proceeds while the tree is listed). */
const breathe = () => new Promise<void>((done) => setImmediate(done))
const BATCH_STATS = 512

function isUtf8Exact(raw: Buffer, text: string): boolean {
  return !text.includes('\uFFFD') || Buffer.from(text).equals(raw)
}

export interface LocalTree {
  entries: Map<string, LocalEntry>
  /** Paths left out, with why (unreadable names, submodules, sockets). */
  skipped: string[]
}

/**
 * lstat one path. Synchronous calls, in batches between which the event loop runs: for thousands
 * of small files they are several times faster than the promise API (no thread-pool round trip).
 */
function entryFor(root: string, path: string): LocalEntry | undefined {
  const abs = join(root, path)
  let info
  try {
    info = lstatSync(abs)
  } catch {
    return undefined
  }
  const base = {path, size: 0, mode: info.mode & 0o7777, mtime: Math.max(0, Math.floor(info.mtimeMs / 1000))}
  if (info.isFile()) return {...base, kind: 'f', size: info.size}
  if (info.isSymbolicLink()) {
    try {
      return {...base, kind: 'l', target: readlinkSync(abs)}
    } catch {
      return undefined
    }
  }
  if (info.isDirectory()) return {...base, kind: 'd'}
  return undefined
}

async function entriesFor(root: string, paths: readonly string[]): Promise<Array<LocalEntry | undefined>> {
  const out: Array<LocalEntry | undefined> = []
  for (let i = 0; i < paths.length; i++) {
    out.push(entryFor(root, paths[i]!))
    if (i % BATCH_STATS === BATCH_STATS - 1) await breathe()
  }
  return out
}

async function walk(root: string, rules: IgnoreRules, into: string[], dirs: string[]): Promise<void> {
  const pending = ['']
  let listed = 0
  while (pending.length > 0) {
    const start = pending.pop()!
    let names: Dirent[]
    try {
      names = readdirSync(start ? join(root, start) : root, {withFileTypes: true})
    } catch {
      continue
    }
    for (const dirent of names) {
      const path = start ? `${start}/${dirent.name}` : dirent.name
      const isDir = dirent.isDirectory()
      if (rules.matches(path, isDir)) continue
      if (isDir) {
        dirs.push(path)
        pending.push(path)
      } else into.push(path)
    }
    listed += names.length
    if (listed >= BATCH_STATS) {
      listed = 0
      await breathe()
    }
  }
}

/** List the local tree with each entry's type, size, mode and mtime. */
export async function listLocalTree(source: SyncSource): Promise<LocalTree> {
  const root = source.localDir
  const rulesText = await readFile(join(root, '.orchignore'), 'utf8').catch(() => '')
  const rules = new IgnoreRules(rulesText)
  const skipped: string[] = []
  const paths: string[] = []
  const dirs: string[] = []
  if (source.git) {
    const listed = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root)
    if (listed.code !== 0) throw new OrchError('failure', `git ls-files failed in ${root}: ${listed.stderr.trim()}`, 'check the repository with git status')
    const seen = new Set<string>()
    const cache = new Map<string, boolean>()
    for (const path of utf8Names(listed.stdout, skipped)) {
      if (seen.has(path) || rules.ignores(path, false, cache)) continue
      seen.add(path)
      paths.push(path)
    }
    if (source.withGitDir && !rules.matches('.git', true)) {
      const gitFiles: string[] = []
      const gitDirs: string[] = []
      await walk(join(root, '.git'), new IgnoreRules(''), gitFiles, gitDirs)
      dirs.push('.git', ...gitDirs.map((dir) => `.git/${dir}`))
      for (const file of gitFiles) if (!file.endsWith('.lock')) paths.push(`.git/${file}`)
    }
  } else {
    await walk(root, rules, paths, dirs)
  }
  const entries = new Map<string, LocalEntry>()
  const found = await entriesFor(root, paths)
  for (const entry of found) {
    if (!entry) continue
    if (entry.kind === 'd') {
      // A directory listed by git is a submodule (a nested work tree): it does not travel.
      skipped.push(`${entry.path}/ (a git submodule)`)
      continue
    }
    entries.set(entry.path, entry)
  }
  // Every directory that holds an entry, and (outside git) every directory walked.
  const dirSet = new Set(dirs)
  for (const path of entries.keys()) {
    for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
      const dir = path.slice(0, slash)
      if (dirSet.has(dir)) break
      dirSet.add(dir)
    }
  }
  const dirEntries = await entriesFor(root, [...dirSet])
  for (const entry of dirEntries) if (entry?.kind === 'd') entries.set(entry.path, entry)
  return {entries, skipped}
}

/**
 * Untracked directories git ignores as a whole (node_modules/, build/…): the host does not list
 * them (their contents never travel, and what the job put there is left alone).
 */
export async function ignoredDirectories(source: SyncSource): Promise<string[]> {
  if (!source.git) return []
  const result = await git(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'], source.localDir).catch(() => undefined)
  if (!result || result.code !== 0) return []
  const dirs: string[] = []
  for (const raw of splitNul(result.stdout)) {
    const path = raw.toString('utf8')
    if (path.endsWith('/') && isUtf8Exact(raw, path) && path !== '.git/') dirs.push(path.slice(0, -1))
  }
  return dirs
}

/**
 * NUL-separated names as strings: one decode and a native split when the whole output is valid
 * UTF-8 (the usual case); else name by name, leaving out (and reporting) those that are not.
 */
function utf8Names(output: Buffer, skipped: string[]): string[] {
  const text = output.toString('utf8')
  if (!text.includes('\uFFFD') || Buffer.from(text).equals(output)) return text.split('\0').filter((name) => name !== '')
  const names: string[] = []
  for (const raw of splitNul(output)) {
    const name = raw.toString('utf8')
    if (isUtf8Exact(raw, name)) names.push(name)
    else skipped.push(`${JSON.stringify(name)} (name is not UTF-8)`)
  }
  return names
}

function* splitNul(buffer: Buffer): Generator<Buffer> {
  let start = 0
  for (;;) {
    const end = buffer.indexOf(0, start)
    if (end === -1) {
      if (start < buffer.length) yield buffer.subarray(start)
      return
    }
    if (end > start) yield buffer.subarray(start, end)
    start = end + 1
  }
}

// ---------------------------------------------------------------- comparing

/** A path the host sent that orch may act on: relative, no '..', no empty or '.' parts. */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\0')) return false
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
}

export function parseManifest(data: Buffer): Map<string, RemoteEntry> {
  // One decode and a native split: a NUL byte never occurs inside a UTF-8 sequence.
  const fields = data.toString('utf8').split('\0')
  const remote = new Map<string, RemoteEntry>()
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const [kind = 'o', size = '0', mode = '0', mtime = '0'] = fields[i]!.split(' ')
    const path = fields[i + 1]!
    if (!isSafeRelativePath(path)) continue
    remote.set(path, {
      kind: kind === 'f' || kind === 'l' || kind === 'd' ? kind : 'o',
      size: Number(size),
      mode: parseInt(mode, 8) || 0,
      mtime: Math.floor(Number(mtime)) || 0,
      target: fields[i + 2]!,
    })
  }
  return remote
}

function sameEntry(local: LocalEntry, remote: RemoteEntry): boolean {
  if (local.kind !== remote.kind) return false
  if (local.kind === 'd') return true
  if (local.kind === 'l') return local.target === remote.target
  return local.size === remote.size && local.mtime === remote.mtime && (local.mode & 0o777) === (remote.mode & 0o777)
}

const depth = (path: string) => path.split('/').length

/** What to send, remove and record, from the local tree and one read of the host's. */
export function planSync(local: ReadonlyMap<string, LocalEntry>, remote: ReadonlyMap<string, RemoteEntry>, previouslyPlaced: readonly string[]): SyncPlan {
  const send: LocalEntry[] = []
  const remove: string[] = []
  const rmdirs: string[] = []
  let deleted = 0
  for (const entry of local.values()) {
    const there = remote.get(entry.path)
    if (!there) send.push(entry)
    else if (!sameEntry(entry, there)) {
      // A type change (file ↔ directory ↔ symlink) replaces what is there; a changed file or
      // symlink is replaced when placed (never written through its old inode).
      if (there.kind !== entry.kind) remove.push(entry.path)
      send.push(entry)
    }
  }
  const removed = new Set(remove)
  for (const path of new Set(previouslyPlaced)) {
    if (local.has(path) || !isSafeRelativePath(path)) continue
    // Only what is there now, as listed (never through a symlinked directory).
    const there = remote.get(path)
    if (!there) continue
    if (there.kind === 'd') rmdirs.push(path)
    else if (!removed.has(path)) {
      remove.push(path)
      deleted++
    }
  }
  rmdirs.sort((a, b) => depth(b) - depth(a))
  send.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const managed = [...local.keys()]
  const samePlaced = previouslyPlaced.length === managed.length && new Set(previouslyPlaced).size === managed.length && previouslyPlaced.every((path) => local.has(path))
  return {send, remove, rmdirs, managed, deleted, noop: send.length === 0 && remove.length === 0 && rmdirs.length === 0 && samePlaced}
}

// ---------------------------------------------------------------- the conversation

interface Frames {
  dir: string
  placed: string[]
  manifest: Buffer
}

/** Reads "<tag> <length>\n<data>" frames D, M, F from the sync script's stdout (each copied once). */
class FrameReader {
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

function ctlFile(name: string, data: Buffer, mtime: number): Buffer[] {
  return [tarHeader({path: `ctl/${name}`, kind: 'file', mode: 0o600, mtime, size: data.length}), data, padding(data.length)]
}

const SMALL_FILE = 1024 * 1024
const BATCH = 512 * 1024

/** Fills 512 KiB buffers with tar data in place (no per-file allocation, no concatenation). */
class Batch {
  buffer = Buffer.allocUnsafe(BATCH)
  at = 0

  get room(): number {
    return this.buffer.length - this.at
  }

  /** The filled part, handed over; a fresh buffer takes its place. */
  take(): Buffer | undefined {
    if (this.at === 0) return undefined
    const out = this.buffer.subarray(0, this.at)
    this.buffer = Buffer.allocUnsafe(BATCH)
    this.at = 0
    return out
  }

  put(chunk: Buffer): void {
    chunk.copy(this.buffer, this.at)
    this.at += chunk.length
  }

  pad(size: number): void {
    const rest = (512 - (size % 512)) % 512
    this.buffer.fill(0, this.at, this.at + rest)
    this.at += rest
  }
}

/** Read exactly `size` bytes of a file into `target` (zeros past its end if it shrank meanwhile). */
function readInto(path: string, size: number, target: Buffer, at: number): void {
  const fd = openSync(path, 'r')
  try {
    let done = 0
    while (done < size) {
      const got = readSync(fd, target, at + done, size - done, null)
      if (got === 0) break
      done += got
    }
    if (done < size) target.fill(0, at + done, at + size)
  } finally {
    closeSync(fd)
  }
}

/**
 * The tar stream the host unpacks: control lists, the entries, then ctl/complete. Headers and
 * small files go straight into 512 KiB batches (synchronous reads: for many small files far
 * faster than the promise API; the event loop runs between batches); big files are streamed. A
 * local read failure ends the stream early (no ctl/complete), so the host changes nothing; the
 * error is kept in `failure`.
 */
async function* tarStream(root: string, plan: SyncPlan, failure: {error?: Error}): AsyncGenerator<Buffer> {
  const now = Math.floor(Date.now() / 1000)
  const batch = new Batch()
  /** Room for `bytes` more, handing over the batch first when needed. */
  function* room(bytes: number): Generator<Buffer> {
    if (batch.room < bytes) {
      const full = batch.take()
      if (full) yield full
    }
  }
  const prelude = Buffer.concat([
    Buffer.from('tar\n'),
    ...ctlFile('remove', nulList(plan.remove, './'), now),
    ...ctlFile('rmdirs', nulList(plan.rmdirs, './'), now),
    ...ctlFile('managed', nulList(plan.managed), now),
  ])
  yield prelude
  for (const entry of plan.send) {
    const header: TarHeader = {
      path: `tree/${entry.path}`,
      kind: entry.kind === 'f' ? 'file' : entry.kind === 'd' ? 'directory' : 'symlink',
      mode: entry.mode,
      mtime: entry.mtime,
      ...(entry.kind === 'f' ? {size: entry.size} : {}),
      ...(entry.kind === 'l' ? {linkname: entry.target} : {}),
    }
    if (entry.kind === 'f' && entry.size > SMALL_FILE) {
      const full = batch.take()
      if (full) yield full
      try {
        yield* bigFile(join(root, entry.path), header, entry.size)
      } catch (error) {
        failure.error = error as Error
        return
      }
      continue
    }
    const size = entry.kind === 'f' ? entry.size : 0
    // Usually one ustar block written in place; a long name needs a pax header (built apart).
    const long = needsPax(header) ? tarHeader(header) : undefined
    yield* room((long?.length ?? 512) + size + 512)
    const headerAt = batch.at
    if (long) batch.put(long)
    else {
      writeTarHeader(header, batch.buffer, batch.at)
      batch.at += 512
    }
    if (size > 0) {
      try {
        readInto(join(root, entry.path), size, batch.buffer, batch.at)
      } catch (error) {
        batch.at = headerAt
        failure.error = error as Error
        const rest = batch.take()
        if (rest) yield rest
        return
      }
      batch.at += size
      batch.pad(size)
    }
  }
  const full = batch.take()
  if (full) yield full
  yield Buffer.concat([...ctlFile('complete', Buffer.from('ok\n'), now), END_OF_ARCHIVE])
}

/** A big file, exactly `size` bytes as its header says (zero-padded if it shrank meanwhile). */
async function* bigFile(path: string, header: TarHeader, size: number): AsyncGenerator<Buffer> {
  const handle = await open(path, fsConstants.O_RDONLY)
  try {
    yield tarHeader({...header, size})
    let left = size
    const chunk = Buffer.alloc(1 << 20)
    while (left > 0) {
      const {bytesRead} = await handle.read(chunk, 0, Math.min(chunk.length, left), null)
      if (bytesRead === 0) break
      yield Buffer.from(chunk.subarray(0, bytesRead))
      left -= bytesRead
    }
    if (left > 0) yield Buffer.alloc(left)
    yield padding(size)
  } finally {
    await handle.close()
  }
}


/**
 * Bring the host's copy up to date. Throws (and the job must not start) when the sync failed;
 * the host's previous copy is then unchanged, except after a failure while placing (75).
 */
export async function syncTree(site: JobSite, source: SyncSource, job: {name: string; replace: boolean}, onProgress?: (text: string) => void): Promise<SyncReport> {
  const where = site.host.label
  // The local listing runs while the connection opens and the host lists its copy.
  const treePromise = listLocalTree(source)
  treePromise.catch(() => {})
  let plan: SyncPlan | undefined
  let frames: Frames | undefined
  let skipped: string[] = []
  /** A local failure (listing, protocol): the stream is ended without "tar", the host changes nothing. */
  let localError: Error | undefined
  const failure: {error?: Error} = {}
  let settlePlan!: (plan: SyncPlan | undefined) => void
  const planned = new Promise<SyncPlan | undefined>((done) => (settlePlan = done))
  const reader = new FrameReader()
  const stderr: Buffer[] = []

  async function* input(): AsyncGenerator<Buffer> {
    const decided = await planned
    if (!decided) return
    if (decided.noop) yield Buffer.from('noop\n')
    else yield* tarStream(source.localDir, decided, failure)
  }

  const onStdout = async (chunk: Buffer) => {
    if (reader.done || localError) return
    try {
      const got = reader.push(chunk)
      if (!got) return
      frames = got
      const tree = await treePromise
      skipped = tree.skipped
      plan = planSync(tree.entries, parseManifest(got.manifest), got.placed)
      if (!plan.noop) onProgress?.(`syncing ${plan.send.filter((e) => e.kind !== 'd').length} file(s) to ${where}:${got.dir}…`)
      settlePlan(plan)
    } catch (error) {
      localError = error as Error
      settlePlan(undefined)
    }
  }

  // Ignored directories are left unlisted on the host ([ * ? \ escaped for find -path).
  const prune = (await ignoredDirectories(source)).map((dir) => dir.replace(/[[\]*?\\]/g, '[$&]'))
  let code: number
  try {
    code = await site.host.stream(controlScript('sync'), {
      args: [site.logRoot, site.tmuxSocket, job.name, job.replace ? '1' : '0', source.remoteDir, ...prune],
      input: Readable.from(input(), {objectMode: false, highWaterMark: 1 << 20}),
      onStdout,
      onStderr: (chunk) => void stderr.push(chunk),
    })
  } catch (error) {
    if (localError) throw localError
    if (error instanceof TransportError) {
      throw new OrchError('connection', `the connection to ${where} broke during the sync: ${error.message}`, 'the job was not started; the copy on the host is unchanged unless the break came while files were put in place; retry')
    }
    throw error
  } finally {
    settlePlan(undefined)
  }
  // Local problems first: they explain the host's "incomplete".
  if (failure.error) {
    throw new OrchError('failure', `cannot read ${failure.error.message.replace(/^[A-Z]+: /, '')}`, 'nothing changed on the host and the job was not started; fix the file\'s permissions or list it in .orchignore')
  }
  const said = Buffer.concat(stderr).toString().trim()
  const remote = frames?.dir || source.remoteDir
  switch (code) {
    case 0:
      break
    case SCRIPT_STATUS.inUse:
      throw new OrchError('conflict', `job name ${job.name} is in use by a job that has not finished`, `pick another name, or stop it first: orch stop ${job.name}`)
    case SCRIPT_STATUS.exists:
      throw new OrchError('conflict', `job ${job.name} already ran on ${where} and its log is kept`, 'pick another name (orch run --stamp adds the time), or pass --replace to delete the old log')
    case SCRIPT_STATUS.toolMissing:
      throw new OrchError('hostSetup', `tar is not installed on ${where}`, 'install it (sudo apt-get install -y tar, or sudo dnf install -y tar)')
    case SCRIPT_STATUS.rootUnwritable:
      throw new OrchError('hostSetup', `cannot create ${remote} on ${where}${said ? `: ${said}` : ''}`, 'check --remote-dir and its parent\'s permissions')
    case SCRIPT_STATUS.syncLockBusy:
      throw new OrchError('conflict', `another sync to ${where}:${remote} has been running for 5 minutes`, 'wait for it to finish, or sync to another --remote-dir')
    case SCRIPT_STATUS.syncUnpackFailed:
    case SCRIPT_STATUS.syncIncomplete:
      if (localError) throw localError
      throw new OrchError('failure', `the sync to ${where}:${remote} failed${said ? `: ${said}` : ''}`, 'the copy on the host is unchanged and the job was not started (is the disk full?); retry')
    case SCRIPT_STATUS.syncPlaceFailed:
      throw new OrchError('failure', `putting the synced files in place in ${where}:${remote} failed${said ? `: ${said}` : ''}`, 'the copy may be partly updated and the job was not started; fix the cause and sync again')
    default:
      if (localError) throw localError
      throw new OrchError('failure', `the sync to ${where} failed (status ${code})${said ? `: ${said}` : ''}`, 'the job was not started; check the host with ssh, then retry')
  }
  if (localError) throw localError
  if (!plan || !frames) throw new OrchError('internal', 'the sync finished without reading the host\'s manifest')
  const sent = plan.send.filter((entry) => entry.kind !== 'd')
  return {
    files: sent.length,
    bytes: sent.reduce((sum, entry) => sum + (entry.kind === 'f' ? entry.size : 0), 0),
    deleted: plan.deleted,
    remoteDir: frames.dir,
    ...(skipped.length > 0 ? {skipped} : {}),
  }
}

/** The one line `orch run --sync` prints on stderr. */
export function formatSynced(report: SyncReport, where: string): string {
  const files = `${report.files} file${report.files === 1 ? '' : 's'}`
  const deleted = report.deleted ? `, deleted ${report.deleted}` : ''
  return `synced ${files} (${bytes(report.bytes, {unitSeparator: ' '}) ?? `${report.bytes} B`})${deleted} to ${where}:${report.remoteDir}`
}

/**
 * `orch run --sync` before the job is created: a cloud job's tree is mirrored and the job runs in
 * the copy; a local job simply runs in the local directory (nothing to copy).
 */
export async function syncBeforeJob(
  site: JobSite,
  source: SyncSource,
  spec: JobSpec,
  ui: {progress: Progress; warn(message: string): void},
): Promise<{spec: JobSpec; report?: SyncReport}> {
  if (site.host.kind === 'local') {
    const given = spec.cwd && (isAbsolute(spec.cwd) || spec.cwd === '~' || spec.cwd.startsWith('~/'))
    const cwd = given ? spec.cwd : join(source.localDir, spec.cwd ?? source.cwdInside)
    return {spec: {...spec, cwd}}
  }
  ui.progress.update(`comparing ${source.localDir} with ${site.host.label}:${source.remoteDir}…`)
  const report = await syncTree(site, source, spec, (text) => ui.progress.update(text))
  ui.progress.stop()
  ui.warn(formatSynced(report, site.host.label))
  for (const entry of report.skipped ?? []) ui.warn(`not synced: ${entry}`)
  return {spec: {...spec, cwd: jobCwdAfterSync(report, source, spec.cwd)}, report}
}
