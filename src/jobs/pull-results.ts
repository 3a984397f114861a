/**
 * `orch pull NAME [PATH…] [--to DIR]`: the job's log directory (into DIR/log/) and the given paths
 * or globs, relative to the job's working directory on the host (into DIR/files/), or the
 * declared `--artifacts` when no path is given. The host sends tar streams (sh/pull.sh); every
 * entry is checked here before anything is written, so nothing lands outside DIR: absolute names,
 * `..`, writing through a symlink, symlinks and hard links pointing outside are refused.
 *
 * `orch pull NAME --diff`: the uncommitted changes of the job's git work tree, as a binary patch,
 * applied to the local work tree with `git apply --3way` — first tried on a scratch index that
 * holds the local tree as it is (tracked and untracked files), so a conflict is found before
 * anything changes; on a conflict nothing is changed at all. The real index is never touched.
 */
import {execFile} from 'node:child_process'
import {constants as fsConstants} from 'node:fs'
import {type FileHandle, chmod, copyFile, link, lstat, mkdir, mkdtemp, open, rm, symlink, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, posix, resolve} from 'node:path'

import {OrchError, usageError} from '../output/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {jobInfo} from './job-info.js'
import type {JobSite} from './site.js'
import {unknownJob} from './sites.js'
import {type TarEntry, TarFormatError, TarReader, type TarSink} from './tar.js'

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

export interface DiffReport {
  name: string
  /** Whether a patch was applied (false: the host had no uncommitted changes). */
  applied: boolean
  /** Files the patch changes. */
  files: number
  /** The HEAD commit of the host's work tree, or null when it has none. */
  base: string | null
  /** The local work tree the patch was applied to. */
  workTree: string
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
  const reader = new TarReader((entry) => (secret(entry) ? null : extractor.onEntry(entry)))
  const stderr: Buffer[] = []
  const code = await site.host.stream(controlScript('pull'), {
    args: [site.logRoot, site.tmuxSocket, name, what, ...args],
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
      reader.end()
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

// ---------------------------------------------------------------- --diff

interface Run {
  code: number
  stdout: string
  stderr: string
}

function gitIn(cwd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    execFile('git', args as string[], {cwd, env: env ? {...process.env, ...env} : process.env, maxBuffer: 1 << 28}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      done({code: error ? (typeof raw === 'number' ? raw : 127) : 0, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

/** The local work tree `--diff` applies to: the one holding cwd. Checked before any host is asked. */
export async function localWorkTree(cwd = process.cwd()): Promise<string> {
  const top = await gitIn(cwd, ['rev-parse', '--show-toplevel'])
  if (top.code !== 0) {
    throw usageError('orch pull --diff applies the host\'s changes to the git work tree you are in, and this is not one', 'cd into your clone of the repository first')
  }
  return top.stdout.replace(/\n$/, '')
}

/** Fetch the host's uncommitted changes and apply them here; on a conflict change nothing. */
export async function pullDiff(site: JobSite, name: string, workTree: string, warn: (message: string) => void): Promise<DiffReport> {
  const result = await site.run(controlScript('pull'), [name, 'diff'])
  const where = site.host.label
  switch (result.code) {
    case SCRIPT_STATUS.ok:
      break
    case SCRIPT_STATUS.unknownJob:
      throw unknownJob(name)
    case SCRIPT_STATUS.noCwd:
      throw new OrchError('failure', `the working directory of ${name} (${result.stderr.trim()}) no longer exists on ${where}`, 'there are no changes to bring')
    case SCRIPT_STATUS.toolMissing:
      throw new OrchError('hostSetup', `git is not installed on ${where}`, 'install it (sudo apt-get install -y git)')
    case SCRIPT_STATUS.notGit:
      throw new OrchError('failure', `the working directory of ${name} on ${where} is not in a git work tree`, '--diff needs a job that ran in one (orch run --sync of a git repository puts one there)')
    default:
      throw new OrchError('failure', `reading the changes of ${name} on ${where} failed (status ${result.code}): ${result.stderr.trim()}`, 'check git in the job\'s directory on the host')
  }
  const newline = result.stdout.indexOf(0x0a)
  const base = newline > 0 ? result.stdout.subarray(0, newline).toString('ascii').trim() : ''
  const patch = newline === -1 ? Buffer.alloc(0) : result.stdout.subarray(newline + 1)
  const report: DiffReport = {name, applied: false, files: 0, base: base || null, workTree}
  if (patch.length === 0) return report
  report.files = (patch.toString('latin1').match(/^diff --git /gm) ?? []).length

  const scratch = await mkdtemp(join(tmpdir(), 'orch-diff-'))
  try {
    const patchFile = join(scratch, 'changes.patch')
    await writeFile(patchFile, patch)
    // A scratch index holding the local tree exactly as it is (tracked and untracked files).
    const indexPath = await gitIn(workTree, ['rev-parse', '--git-path', 'index'])
    const realIndex = resolve(workTree, indexPath.stdout.trim())
    const asIs = join(scratch, 'index')
    const hasIndex = await lstat(realIndex).then(
      (info) => info.isFile(),
      () => false,
    )
    if (hasIndex) await copyFile(realIndex, asIs)
    const added = await gitIn(workTree, ['add', '-A', '.'], {GIT_INDEX_FILE: asIs})
    if (added.code !== 0) throw new OrchError('failure', `git add (into a scratch index) failed in ${workTree}: ${added.stderr.trim()}`, 'check the repository with git status')
    // The trial: the 3-way apply into a copy of that index only (no work tree), to find conflicts.
    const trialIndex = join(scratch, 'trial-index')
    await copyFile(asIs, trialIndex)
    const trial = await gitIn(workTree, ['apply', '--3way', '--cached', patchFile], {GIT_INDEX_FILE: trialIndex})
    if (trial.code !== 0) {
      const unmerged = await gitIn(workTree, ['ls-files', '-u', '-z'], {GIT_INDEX_FILE: trialIndex})
      const paths = [...new Set(unmerged.stdout.split('\0').flatMap((line) => (line.includes('\t') ? [line.slice(line.indexOf('\t') + 1)] : [])))]
      if (paths.length > 0) {
        throw new OrchError('conflict', `the changes of ${name} conflict with your local changes in ${paths.join(', ')}; nothing was changed`, `commit or stash your changes to ${paths.length === 1 ? 'that file' : 'those files'}, then run orch pull ${name} --diff again`)
      }
      const why = trial.stderr.split('\n').filter((line) => /^error:/.test(line)).join('; ') || trial.stderr.trim()
      const known = base ? (await gitIn(workTree, ['cat-file', '-e', `${base}^{commit}`])).code === 0 : true
      throw new OrchError(
        'conflict',
        `the changes of ${name} do not apply to ${workTree}: ${why}; nothing was changed`,
        known ? 'your tree has moved on from the job\'s; commit or stash, then retry' : `the host's commit ${base.slice(0, 12)} is not in this repository: fetch it (or sync again) first`,
      )
    }
    // The real thing: the work tree (and the scratch index, thrown away); the user's index is untouched.
    const applied = await gitIn(workTree, ['apply', '--3way', patchFile], {GIT_INDEX_FILE: asIs})
    if (applied.code !== 0) {
      warn(applied.stderr.trim())
      throw new OrchError('failure', `git apply failed in ${workTree} after a clean trial: ${applied.stderr.trim()}`, 'did files change meanwhile? check git status')
    }
    report.applied = true
    return report
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

