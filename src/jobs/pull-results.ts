/**
 * `orch pull NAME [PATH…] [--to DIR]`: the job's log directory (into DIR/log/) and the given paths
 * or globs, relative to the job's working directory on the host (into DIR/files/), or the
 * declared `--artifacts` when no path is given. The host sends tar streams (sh/pull.sh); every
 * entry is checked here before anything is written, so nothing lands outside DIR: absolute names,
 * `..`, writing through a symlink, symlinks and hard links pointing outside are refused.
 *
 * `orch pull NAME --diff` is in pull-diff.ts.
 */
import {constants as fsConstants} from 'node:fs'
import {type FileHandle, chmod, copyFile, link, lstat, mkdir, open, rm, symlink, utimes} from 'node:fs/promises'
import {join, posix, resolve} from 'node:path'

import {OrchError, usageError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {jobInfo} from './job-info.js'
import {type JobSite, unknownJob} from './site.js'
import {type TarEntry, TarFormatError, type TarSink, tarReader} from './tar-entries.js'

export interface PulledSet {
  /** Files (and symlinks) written. */
  files: number
  bytes: number
}

export interface PullReport {
  name: string
  /** The directory written into (absolute). */
  to: string
  /** The job's log directory, in <to>/log/. */
  log: PulledSet
  /** The paths pulled, in <to>/files/. */
  files: PulledSet
  /** The paths or globs asked for (the job's --artifacts when none were given). */
  patterns: string[]
  /** Those that matched nothing on the host. */
  missing: string[]
  /** Entries not written (special files), with why. */
  skipped: string[]
}

/** Paths and globs are relative to the job's working directory and stay inside it. */
export function validatePullPatterns(patterns: readonly string[], what = 'PATH'): void {
  for (const pattern of patterns) {
    const parts = pattern.replace(/\/+$/, '').split('/')
    if (pattern === '' || pattern.startsWith('/') || pattern.startsWith('~') || pattern.includes('\n') || pattern.includes('\0') || parts.includes('..')) {
      throw usageError(`${what} "${pattern}" must be relative to the job's working directory, without ..`, 'e.g. out/model.pt or \'results/*.csv\'')
    }
  }
}

/** `./a/b/` → `a/b`; undefined for the archive's top ('.', './'). */
function normalizeEntryPath(raw: string): string | undefined {
  let path = raw
  while (path.startsWith('./')) path = path.slice(2)
  path = path.replace(/\/+$/, '')
  return path === '' || path === '.' ? undefined : path
}

function isSafe(path: string): boolean {
  return !path.startsWith('/') && !path.includes('\0') && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
}

export class RefusedEntry extends Error {}

/**
 * Writes a tar stream's entries under `root/prefix`, refusing any that would land outside root.
 * Directory modes are applied at the end (a read-only directory must still be filled first).
 */
export class SafeExtractor {
  readonly pulled: PulledSet = {files: 0, bytes: 0}
  readonly skipped: string[] = []
  private readonly dirModes = new Map<string, {mode: number; mtime: number}>()
  private readonly made = new Set<string>()

  constructor(
    private readonly root: string,
    private readonly prefix: string,
  ) {}

  private refuse(entry: TarEntry, why: string): never {
    throw new RefusedEntry(`refusing ${JSON.stringify(entry.path)} from the host: ${why}`)
  }

  /** Make sure every directory from root down to `dir` (relative) is a real directory, not a symlink. */
  private async ensureDirs(dir: string): Promise<void> {
    if (dir === '' || this.made.has(dir)) return
    let current = this.root
    let relative = ''
    for (const part of dir.split('/')) {
      current = join(current, part)
      relative = relative ? `${relative}/${part}` : part
      if (this.made.has(relative)) continue
      const info = await lstat(current).catch(() => undefined)
      if (info?.isSymbolicLink()) throw new RefusedEntry(`refusing to write through the symlink ${relative} in ${this.root}`)
      if (info && !info.isDirectory()) await rm(current, {force: true})
      if (!info?.isDirectory()) await mkdir(current, {mode: 0o755})
      this.made.add(relative)
    }
  }

  /** Remove whatever is at `abs` (a file, a symlink, or a directory tree: never followed). */
  private async clear(abs: string): Promise<void> {
    const info = await lstat(abs).catch(() => undefined)
    if (!info) return
    await rm(abs, {recursive: info.isDirectory(), force: true})
  }

  async onEntry(entry: TarEntry): Promise<TarSink | null> {
    if (entry.path.startsWith('/')) this.refuse(entry, 'an absolute path')
    const inner = normalizeEntryPath(entry.path)
    if (inner === undefined) return null
    if (!isSafe(inner)) this.refuse(entry, 'a path with .. or empty parts')
    const rel = this.prefix ? `${this.prefix}/${inner}` : inner
    const abs = join(this.root, ...rel.split('/'))
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel)
    await this.ensureDirs(parent)
    switch (entry.type) {
      case 'directory': {
        const info = await lstat(abs).catch(() => undefined)
        if (info && !info.isDirectory()) await this.clear(abs)
        if (!info?.isDirectory()) await mkdir(abs, {mode: 0o755})
        this.made.add(rel)
        this.dirModes.set(abs, {mode: entry.mode, mtime: entry.mtime})
        return null
      }
      case 'symlink': {
        const target = entry.linkname
        if (target.startsWith('/')) this.refuse(entry, `a symlink to the absolute path ${target}`)
        const resolved = posix.normalize(posix.join(posix.dirname(rel), target))
        if (resolved === '..' || resolved.startsWith('../') || target.includes('\0')) this.refuse(entry, `a symlink pointing outside (${target})`)
        await this.clear(abs)
        await symlink(target, abs)
        this.pulled.files++
        return null
      }
      case 'hardlink': {
        const linked = normalizeEntryPath(entry.linkname)
        if (linked === undefined || !isSafe(linked)) this.refuse(entry, `a hard link to ${entry.linkname}`)
        const targetRel = this.prefix ? `${this.prefix}/${linked}` : linked
        const target = join(this.root, ...targetRel.split('/'))
        await this.ensureDirs(posix.dirname(targetRel) === '.' ? '' : posix.dirname(targetRel))
        const info = await lstat(target).catch(() => undefined)
        if (!info?.isFile()) this.refuse(entry, `a hard link to ${entry.linkname}, which is not a file pulled before it`)
        await this.clear(abs)
        await link(target, abs).catch(() => copyFile(target, abs))
        this.pulled.files++
        return null
      }
      case 'file':
        return this.fileSink(abs, entry)
      default:
        this.skipped.push(`${inner} (tar type ${JSON.stringify(entry.typeflag)}: not a file, directory or symlink)`)
        return null
    }
  }

  private async fileSink(abs: string, entry: TarEntry): Promise<TarSink> {
    await this.clear(abs)
    // O_EXCL + O_NOFOLLOW: a file is always created new, never written through a link.
    const handle: FileHandle = await open(abs, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600)
    let written = 0
    return {
      write: async (chunk) => {
        await handle.write(chunk)
        written += chunk.length
      },
      end: async () => {
        await handle.chmod(entry.mode & 0o777)
        await handle.close()
        await utimes(abs, entry.mtime, entry.mtime).catch(() => {})
        this.pulled.files++
        this.pulled.bytes += written
      },
    }
  }

  /** Apply directory modes and times, deepest first. */
  async finish(): Promise<void> {
    const dirs = [...this.dirModes.entries()].sort((a, b) => b[0].length - a[0].length)
    for (const [abs, {mode, mtime}] of dirs) {
      await chmod(abs, (mode & 0o777) | 0o700).catch(() => {})
      await utimes(abs, mtime, mtime).catch(() => {})
    }
  }
}

/** Run one pull.sh mode and unpack its tar stream with a SafeExtractor. */
async function pullTar(site: JobSite, name: string, what: 'log' | 'files', args: readonly string[], extractor: SafeExtractor): Promise<{stderr: string; code: number}> {
  const stop = new AbortController()
  let failure: Error | undefined
  // Defence in depth: the host's script leaves the secrets out of the log directory already.
  const secret = (entry: TarEntry) => what === 'log' && /^(?:\.\/)?(?:env[^/]*|\.env[^/]*|secret[^/]*|[^/]*\.secret|[^/]*\.url)$/.test(entry.path)
  const reader = await tarReader((entry) => (secret(entry) ? null : extractor.onEntry(entry)))
  const stderr: Buffer[] = []
  const code = await site.stream(controlScript('pull'), [name, what, ...args], {
    signal: stop.signal,
    onStderr: (chunk) => void stderr.push(chunk),
    // Never rejects (a rejected handler would be lost): the first error stops the transfer.
    onStdout: async (chunk) => {
      if (failure) return
      try {
        await reader.push(chunk)
      } catch (error) {
        failure = error as Error
        stop.abort()
      }
    },
  })
  if (!failure) {
    try {
      await reader.end()
    } catch (error) {
      failure = error as Error
    }
  }
  await extractor.finish()
  const said = Buffer.concat(stderr).toString()
  if (failure instanceof RefusedEntry) throw new OrchError('failure', failure.message, 'a job (or whoever controls the host) put it there; nothing was written outside the results directory')
  if (failure instanceof TarFormatError) throw new OrchError('failure', `the host sent a broken tar stream: ${failure.message}`, `check the host (tar --version); ${said.trim()}`)
  if (failure) throw failure
  if (code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  if (code === SCRIPT_STATUS.noCwd) throw new OrchError('failure', `the working directory of ${name} (${said.trim()}) no longer exists on ${site.host.label}`, 'nothing to pull from it')
  if (code === SCRIPT_STATUS.toolMissing) throw new OrchError('hostSetup', `tar is not installed on ${site.host.label}`, 'install it (sudo apt-get install -y tar)')
  return {stderr: said, code}
}

/** Download a job's log directory and the given paths (or its declared artifacts) into `to`. */
export async function pullResults(site: JobSite, name: string, patterns: readonly string[], to: string, warn: (message: string) => void): Promise<PullReport> {
  const info = await jobInfo(site, name)
  const wanted = patterns.length > 0 ? [...patterns] : [...(info.meta.artifacts ?? [])]
  // Declared artifacts were checked at run time; check again (meta.json lives on the host).
  validatePullPatterns(wanted)
  const root = resolve(to)
  await mkdir(root, {recursive: true})
  const logExtractor = new SafeExtractor(root, 'log')
  const fileExtractor = new SafeExtractor(root, 'files')
  // Both streams at once over the one connection; both finish before an error is reported.
  const settled = await Promise.allSettled([
    pullTar(site, name, 'log', [], logExtractor),
    wanted.length > 0 ? pullTar(site, name, 'files', wanted, fileExtractor) : Promise.resolve({stderr: '', code: 0}),
  ])
  const failed = settled.find((outcome) => outcome.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
  const [logResult, fileResult] = settled.map((outcome) => (outcome as PromiseFulfilledResult<{stderr: string; code: number}>).value) as [{stderr: string; code: number}, {stderr: string; code: number}]
  const missing: string[] = []
  for (const line of fileResult.stderr.split('\n')) {
    if (line.startsWith('orch-missing: ')) missing.push(line.slice('orch-missing: '.length))
  }
  for (const [result, what] of [
    [logResult, 'the log directory'],
    [fileResult, 'the files'],
  ] as const) {
    // GNU tar: 1 = a file changed while it was read (a running job's log): the copy is still whole.
    if (result.code !== 0 && result.code !== 1) {
      const text = result.stderr
        .split('\n')
        .filter((line) => line.trim() && !line.startsWith('orch-missing: '))
        .join('; ')
      warn(`the host's tar reported problems with ${what} (status ${result.code})${text ? `: ${text}` : ''}`)
    }
  }
  return {
    name,
    to: root,
    log: logExtractor.pulled,
    files: fileExtractor.pulled,
    patterns: wanted,
    missing,
    skipped: [...logExtractor.skipped, ...fileExtractor.skipped],
  }
}
