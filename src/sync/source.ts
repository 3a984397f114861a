/**
 * What `orch run --sync` sends. In a git work tree: what git counts as part of it (tracked files
 * plus untracked files that are not ignored: `git ls-files --cached --others --exclude-standard`),
 * plus the `.git` directory itself when the tree is the top of the work tree (so the host copy is a
 * real work tree: `git rev-parse HEAD`, `orch pull --diff` and rollback work there). Outside git,
 * everything. In both cases `.orchignore` (gitignore syntax, matched by the `ignore` package)
 * removes more.
 *
 * `orch run` loads this module to validate --sync before connecting; the `ignore` package is
 * loaded only when a tree is actually listed.
 */
import {type Dirent, readdirSync} from 'node:fs'
import {lstat, readFile, realpath, stat} from 'node:fs/promises'
import {basename, isAbsolute, join, relative, resolve, sep} from 'node:path'

import {OrchError, usageError} from '../errors/errors.js'
import {git} from '../hosts/git.js'

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

const DEFAULT_REMOTE_PARENT = '~/work'

/**
 * Resolve `--sync [DIR]` and `--remote-dir`: DIR '' means the git work tree holding cwd, else
 * cwd. Refuses a missing directory or an unusable remote directory.
 */
export async function resolveSyncSource(dir: string, remoteDir: string | undefined, cwd = process.cwd()): Promise<SyncSource> {
  let localDir: string
  if (dir === '') {
    const top = await git(cwd, ['rev-parse', '--show-toplevel']).catch(() => ({code: 1, stdout: Buffer.alloc(0)}))
    localDir = top.code === 0 ? top.stdout.toString().replace(/\n$/, '') : cwd
  } else localDir = resolve(cwd, dir)
  try {
    if (!(await stat(localDir)).isDirectory()) throw new Error('not a directory')
    localDir = await realpath(localDir)
  } catch {
    throw usageError(`--sync ${dir}: no such directory`, 'give a directory to mirror to the host, or --sync alone for the current git work tree')
  }
  const top = await git(localDir, ['rev-parse', '--show-toplevel']).catch(() => ({code: 1, stdout: Buffer.alloc(0)}))
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

// ---------------------------------------------------------------- .orchignore

/**
 * `.orchignore` rules. Matching is case-sensitive as git's is on Linux (the `ignore` package
 * folds case by default); a path inside an ignored directory is ignored too, as in git.
 */
export class OrchIgnore {
  private constructor(private readonly matcher?: {ignores(path: string): boolean}) {}

  /** The rules in `text`; the matcher is loaded only when there are rules. */
  static async parse(text: string): Promise<OrchIgnore> {
    if (text.trim() === '') return new OrchIgnore()
    const {default: ignore} = await import('ignore')
    return new OrchIgnore(ignore({ignorecase: false}).add(text))
  }

  static read(root: string): Promise<OrchIgnore> {
    return readFile(join(root, '.orchignore'), 'utf8').then(
      (text) => OrchIgnore.parse(text),
      () => new OrchIgnore(),
    )
  }

  /** Whether `path` (`a/b/c`, relative to the top) or a directory above it is ignored. */
  ignores(path: string, isDir: boolean): boolean {
    return this.matcher ? this.matcher.ignores(isDir ? `${path}/` : path) : false
  }
}

// ---------------------------------------------------------------- the paths that travel

/** Let the event loop run (the SSH handshake proceeds while the tree is listed). */
export const breathe = () => new Promise<void>((done) => setImmediate(done))
export const BATCH_STATS = 512

export interface SourcePaths {
  /** Files and symlinks (and, from git, submodule directories), relative to the top. */
  paths: string[]
  /** Directories walked (outside git, and inside .git). */
  dirs: string[]
  /** Paths left out, with why (names that are not UTF-8). */
  skipped: string[]
}

/** The paths of the local tree that travel, before they are stat'ed. */
export async function sourcePaths(source: SyncSource): Promise<SourcePaths> {
  const root = source.localDir
  const rules = await OrchIgnore.read(root)
  const skipped: string[] = []
  const paths: string[] = []
  const dirs: string[] = []
  if (source.git) {
    const listed = await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    if (listed.code !== 0) throw new OrchError('failure', `git ls-files failed in ${root}: ${listed.stderr.trim()}`, 'check the repository with git status')
    const seen = new Set<string>()
    for (const path of utf8Names(listed.stdout, skipped)) {
      if (seen.has(path) || rules.ignores(path, false)) continue
      seen.add(path)
      paths.push(path)
    }
    if (source.withGitDir && !rules.ignores('.git', true)) {
      const gitFiles: string[] = []
      const gitDirs: string[] = []
      await walk(join(root, '.git'), await OrchIgnore.parse(''), gitFiles, gitDirs)
      dirs.push('.git', ...gitDirs.map((dir) => `.git/${dir}`))
      for (const file of gitFiles) if (!file.endsWith('.lock')) paths.push(`.git/${file}`)
    }
  } else {
    await walk(root, rules, paths, dirs)
  }
  return {paths, dirs, skipped}
}

async function walk(root: string, rules: OrchIgnore, into: string[], dirs: string[]): Promise<void> {
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
      if (rules.ignores(path, isDir)) continue
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

/**
 * Untracked directories git ignores as a whole (node_modules/, build/…): the host does not list
 * them (their contents never travel, and what the job put there is left alone).
 */
export async function ignoredDirectories(source: SyncSource): Promise<string[]> {
  if (!source.git) return []
  const result = await git(source.localDir, ['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']).catch(() => undefined)
  if (!result || result.code !== 0) return []
  const dirs: string[] = []
  for (const raw of splitNul(result.stdout)) {
    const path = raw.toString('utf8')
    if (path.endsWith('/') && isUtf8Exact(raw, path) && path !== '.git/') dirs.push(path.slice(0, -1))
  }
  return dirs
}

function isUtf8Exact(raw: Buffer, text: string): boolean {
  return !text.includes('\uFFFD') || Buffer.from(text).equals(raw)
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
