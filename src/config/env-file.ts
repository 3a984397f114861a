import {closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats} from 'node:fs'

import {usageError} from '../output/errors.js'

/**
 * `orch run --env-file`: a dotenv file read strictly. Every line is blank, a comment, or
 * `[export ] NAME=value` with NAME a shell variable name; anything else is refused with its line
 * number, never dropped (dotenv's own parser skips what it does not understand, so `API TOKEN=x`
 * would run with nothing set). Values are secrets: no message ever quotes one.
 *
 * Values, as dotenv reads them: unquoted (trimmed; ` #` starts a comment), 'single' and `backtick`
 * (literal), "double" (\n and \r become a newline and a carriage return); quoted values may span
 * lines. An unquoted value holding a # with no space before it is refused: dotenv would cut it
 * there, a shell would not, and orch does not guess which was meant.
 */

/** Larger than this is not an environment (a job's whole environment must fit its exec). */
export const ENV_FILE_MAX_BYTES = 1024 * 1024

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface EnvFileProblem {
  line: number
  problem: string
}

export type EnvFileParse = {ok: true; env: Record<string, string>} | {ok: false; problems: EnvFileProblem[]}

/** What is wrong with the bytes as text, or undefined when they are UTF-8 text. */
function binaryProblem(bytes: Buffer): EnvFileProblem | undefined {
  const text = bytes.toString('utf8')
  const lineOf = (index: number) => text.slice(0, index).split('\n').length
  const nul = text.indexOf('\0')
  if (nul >= 0) return {line: lineOf(nul), problem: 'holds a NUL byte: this is a binary file, not NAME=value lines'}
  const bad = text.indexOf('\uFFFD')
  if (bad >= 0 && !bytes.includes(Buffer.from('\uFFFD'))) return {line: lineOf(bad), problem: 'is not UTF-8 text: this looks like a binary file'}
  // eslint-disable-next-line no-control-regex
  const control = /[\x01-\x08\x0B\x0C\x0E-\x1F\x7F]/.exec(text)
  if (control) return {line: lineOf(control.index), problem: `holds a control character (0x${control[0].charCodeAt(0).toString(16).padStart(2, '0')}): this looks like a binary file`}
  return undefined
}

/** Parse env-file bytes. Pure: no file access, no exceptions. */
export function parseEnvFile(bytes: Buffer | string): EnvFileParse {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  const binary = binaryProblem(buffer)
  if (binary) return {ok: false, problems: [binary]}
  const lines = buffer.toString('utf8').replace(/^\uFEFF/, '').split('\n').map((line) => line.replace(/\r$/, ''))
  const env: Record<string, string> = {}
  const problems: EnvFileProblem[] = []
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1
    const line = lines[i]!
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq < 0) {
      problems.push({line: number, problem: 'has no "=": expected NAME=value'})
      continue
    }
    const name = line.slice(0, eq).trim().replace(/^export\s+/, '')
    if (!NAME.test(name)) {
      // The name side is not a secret; it is shown so the user can find it (never the value).
      problems.push({line: number, problem: `"${name.length > 40 ? `${name.slice(0, 40)}…` : name}" is not a variable name (letters, digits and _, not starting with a digit)`})
      continue
    }
    let rest = line.slice(eq + 1).replace(/^\s+/, '')
    const quote = rest[0]
    if (quote === '"' || quote === "'" || quote === '`') {
      // The closing quote may be on a later line (a multi-line value).
      let body = rest.slice(1)
      let close = findClose(body, quote)
      let end = i
      while (close < 0 && end + 1 < lines.length) {
        end += 1
        body += `\n${lines[end]!}`
        close = findClose(body, quote)
      }
      if (close < 0) {
        problems.push({line: number, problem: `the value's ${quote} quote is never closed`})
        break
      }
      const after = body.slice(close + 1).trim()
      if (after !== '' && !after.startsWith('#')) {
        problems.push({line: end + 1, problem: `text after the closing ${quote} quote (put a # before a comment)`})
      } else {
        let value = body.slice(0, close)
        if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r')
        env[name] = value
      }
      i = end
      continue
    }
    const comment = /\s#/.exec(rest)
    if (comment) rest = rest.slice(0, comment.index)
    rest = rest.trim()
    if (rest.includes('#')) {
      problems.push({line: number, problem: 'an unquoted value holds "#": quote the value (dotenv would cut it there)'})
      continue
    }
    if (/["'`]/.test(rest[0] ?? '')) {
      problems.push({line: number, problem: 'the value\'s quote is never closed'})
      continue
    }
    env[name] = rest
  }
  return problems.length > 0 ? {ok: false, problems} : {ok: true, env}
}

/** Index of the closing quote in `body`; a double-quoted value may hold \" (kept as it is, as dotenv does). */
function findClose(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') {
      i += 1
      continue
    }
    if (body[i] === quote) return i
  }
  return -1
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory'
  if (stats.isFIFO()) return 'a named pipe (FIFO)'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

const HINT = 'give a readable text file of NAME=value lines'

/**
 * Read and parse an env file. Refuses (usage error, nothing started) what does not exist, cannot be
 * read, is not a regular file (checked before opening, and again on the open descriptor, which is
 * opened non-blocking so that a FIFO swapped in between cannot hang orch), is larger than
 * ENV_FILE_MAX_BYTES, is binary, or has a bad line.
 */
export function readEnvFile(path: string): Record<string, string> {
  const refuse = (what: string, hint = HINT) => usageError(`--env-file ${path} ${what}`, hint)
  const failure = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return refuse('does not exist')
    if (code === 'EACCES' || code === 'EPERM') return refuse('cannot be read (permission denied)')
    if (code === 'ELOOP') return refuse('is a symbolic link loop')
    return refuse(`cannot be read (${code ?? (error as Error).message})`)
  }
  let stats: Stats
  try {
    stats = statSync(path)
  } catch (error) {
    throw failure(error)
  }
  if (!stats.isFile()) throw refuse(`is ${kindOf(stats)}, not a file`)
  if (stats.size > ENV_FILE_MAX_BYTES) throw refuse(`is larger than ${ENV_FILE_MAX_BYTES / 1024 / 1024} MiB: not an env file`)
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (error) {
    throw failure(error)
  }
  let bytes: Buffer
  try {
    const opened = fstatSync(fd)
    if (!opened.isFile()) throw refuse(`is ${kindOf(opened)}, not a file`)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024)
      let read: number
      try {
        read = readSync(fd, chunk, 0, chunk.length, null)
      } catch (error) {
        throw failure(error)
      }
      if (read === 0) break
      total += read
      if (total > ENV_FILE_MAX_BYTES) throw refuse(`is larger than ${ENV_FILE_MAX_BYTES / 1024 / 1024} MiB: not an env file`)
      chunks.push(chunk.subarray(0, read))
    }
    bytes = Buffer.concat(chunks)
  } finally {
    closeSync(fd)
  }
  const parsed = parseEnvFile(bytes)
  if (parsed.ok) return parsed.env
  const shown = parsed.problems.slice(0, 5).map(({line, problem}) => `line ${line} ${problem}`)
  const more = parsed.problems.length > 5 ? `; and ${parsed.problems.length - 5} more bad lines` : ''
  throw refuse(`is not a valid env file: ${shown.join('; ')}${more}`, 'fix those lines: each is NAME=value, a # comment or blank (quote values holding spaces or #); nothing was started')
}
