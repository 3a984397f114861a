/**
 * `ssh -G`'s answer kept between commands, like the connection itself (ORCH_CONTROL_PERSIST): with a
 * warm connection, starting ssh to read the configuration was a tenth of a command's time.
 *
 * An answer is reused only while everything it was computed from is unchanged: the ssh binary,
 * every configuration file it reads (the Include'd ones too, and the directories a wildcard Include
 * lists), each by inode, size, mtime and ctime, taken before ssh ran; the answer is one for these
 * arguments, this ssh (as PATH finds it now), user and machine name. A configuration whose answer
 * depends on more than that (`Match exec`, `Match localnetwork`, hostname canonicalization, a
 * `${VAR}` anywhere, an Include whose path has %-tokens, another user's ~ or a wildcard above its
 * last part) is never kept: ssh is asked each time.
 */
import {createHash} from 'node:crypto'
import {type BigIntStats, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {basename, delimiter, dirname, isAbsolute, join} from 'node:path'

import {globToRegExp} from './known-hosts.js'

/** What ssh -G is run with, as the cache tells answers apart (never the path of a temporary file). */
export interface SshGQuestion {
  /** ssh -G's arguments after the configuration (-l, -p, --, the name). */
  args: string[]
  /** The ssh binary as given (a name looked up in PATH, or a path). */
  binary: string
  /** The configuration files ssh reads, in order (its -F file, or the user's and the system's). */
  configFiles: string[]
  /** Whether ssh reads them all as user configuration (with -F), relative Includes then going to ~/.ssh, not /etc/ssh. */
  allUserConfig: boolean
  /** Where ssh resolves `~` and a user configuration's relative Include (the password database's home). */
  sshHome: string
  env: NodeJS.ProcessEnv
}

interface Entry {
  key: string
  files: Array<[string, string]>
  stdout: string
}

/** The configuration ssh reads after the user's (none with -F). */
export const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config'
const MAX_FILES = 200

/** The kept answer to `question` in `dir`, when nothing it came from has changed; else undefined. */
export function keptSshG(dir: string, question: SshGQuestion): string | undefined {
  const key = keyOf(question)
  let entry: Entry
  try {
    entry = JSON.parse(readFileSync(entryPath(dir, key), 'utf8')) as Entry
  } catch {
    return undefined
  }
  if (entry.key !== key || !Array.isArray(entry.files) || typeof entry.stdout !== 'string') return undefined
  for (const [path, signature] of entry.files) if (signatureOf(path) !== signature) return undefined
  return entry.stdout
}

/**
 * What the answer will depend on, read before ssh runs (a file changed while it runs is then seen
 * as changed next time); undefined when the answer must not be kept.
 */
export function sshGInputs(question: SshGQuestion): Array<[string, string]> | undefined {
  const binary = binaryPath(question.binary, question.env)
  if (!binary) return undefined
  const files = new Map<string, string>([[binary, signatureOf(binary)]])
  for (const file of question.configFiles) {
    const base = file === SYSTEM_SSH_CONFIG && !question.allUserConfig ? '/etc/ssh' : join(question.sshHome, '.ssh')
    if (!readConfig(file, base, question.sshHome, files)) return undefined
  }
  return [...files]
}

/** Keeps `stdout` as the answer to `question`; a failure to write is no failure of the command. */
export function keepSshG(dir: string, question: SshGQuestion, inputs: Array<[string, string]>, stdout: string): void {
  const key = keyOf(question)
  const path = entryPath(dir, key)
  const temporary = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, JSON.stringify({key, files: inputs, stdout} satisfies Entry), {mode: 0o600})
    renameSync(temporary, path)
  } catch {
    try {
      rmSync(temporary, {force: true})
    } catch {}
  }
}

/** What tells answers apart besides the files: the arguments, which ssh PATH finds now, who and where (%u, %l, %d). */
function keyOf(question: SshGQuestion): string {
  const {args, configFiles, allUserConfig, sshHome} = question
  const binary = binaryPath(question.binary, question.env) ?? question.binary
  return createHash('sha256')
    .update(JSON.stringify({args, binary, configFiles, allUserConfig, sshHome, uid: process.getuid?.() ?? null, host: hostname()}))
    .digest('hex')
    .slice(0, 32)
}

const entryPath = (dir: string, key: string) => join(dir, `${key}.ssh-g`)

/** A file's identity and version ('-' when it does not exist). */
function signatureOf(path: string): string {
  let stat: BigIntStats
  try {
    stat = statSync(path, {bigint: true})
  } catch {
    return '-'
  }
  return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`
}

/** The ssh binary that `spawn(binary)` runs: a path as it is, a name through PATH. */
function binaryPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  if (binary.includes('/')) return binary
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (!folder) continue
    const candidate = join(folder, binary)
    try {
      const stat = statSync(candidate)
      if (stat.isFile() && (stat.mode & 0o111) !== 0) return candidate
    } catch {}
  }
  return undefined
}

/** The words of a configuration line, as ssh splits them (whitespace, double quotes, an optional =). */
function words(line: string): string[] {
  const out: string[] = []
  const pattern = /"([^"]*)"|([^\s"=]+)/g
  for (const match of line.matchAll(pattern)) out.push(match[1] ?? match[2]!)
  return out
}

/**
 * Reads one configuration file into `files` (its signature, then those of the files it
 * includes); false when an answer from it must not be kept.
 */
function readConfig(file: string, base: string, sshHome: string, files: Map<string, string>): boolean {
  if (files.has(file)) return true
  if (files.size > MAX_FILES) return false
  files.set(file, signatureOf(file))
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    // A file ssh cannot read either: ssh -G fails or skips it; its signature says when it appears.
    return true
  }
  for (const line of text.split('\n')) {
    const [keyword = '', ...rest] = words(line.trim())
    const name = keyword.toLowerCase()
    if (name.startsWith('#')) continue
    // ${VAR} is expanded by ssh -G itself (IdentityAgent, UserKnownHostsFile, …): the answer
    // then depends on the environment too.
    if (line.includes('${')) return false
    if (name === 'match' && rest.some((word) => /^!?(exec|localnetwork)$/i.test(word))) return false
    if (name === 'canonicalizehostname' && !/^(no|false)$/i.test(rest[0] ?? 'no')) return false
    if (name !== 'include') continue
    for (const pattern of rest) {
      if (/[%$]/.test(pattern) || /^~[^/]/.test(pattern)) return false
      const path = pattern.startsWith('~/') ? join(sshHome, pattern.slice(2)) : isAbsolute(pattern) ? pattern : join(base, pattern)
      if (!/[*?[]/.test(path)) {
        if (!readConfig(path, base, sshHome, files)) return false
        continue
      }
      const folder = dirname(path)
      if (/[*?[]/.test(folder)) return false
      // The folder's own signature changes when a file is added or removed; each match is read.
      files.set(folder, signatureOf(folder))
      const matches = globMatches(folder, basename(path))
      if (matches === undefined) return false
      for (const match of matches) if (!readConfig(match, base, sshHome, files)) return false
    }
  }
  return true
}

/** The files in `folder` that the shell pattern `name` matches, sorted; undefined for a pattern not understood. */
function globMatches(folder: string, name: string): string[] | undefined {
  if (name.includes('[')) return undefined
  const pattern = globToRegExp(name, '')
  let entries: string[]
  try {
    entries = readdirSync(folder)
  } catch {
    // No folder (yet): nothing included; its signature ('-') says when it appears.
    return []
  }
  return entries.filter((entry) => !entry.startsWith('.') && pattern.test(entry)).sort().map((entry) => join(folder, entry))
}
