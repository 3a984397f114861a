/**
 * The error contract agents rely on, through every entry point of the BUILT CLI (`npm run build`
 * first): bin/run.js answers every command through its dispatcher (src/cli/dispatch.ts, one
 * parser: src/cli/parse.ts), and oclif answers help, unknown commands and, with
 * ORCH_NO_FAST_PATH=1, everything, through the same command classes (src/cli/command.ts,
 * src/cli/oclif-main.ts). Under --json an error is exactly one JSON document on stdout,
 * {error: {code, message, hint, exitCode}}, besides its one line on stderr; without --json stdout
 * stays empty. Every run has its own HOME (no ~/.ssh, no config) and no ORCH_* variable, so no
 * cloud host is configured.
 */
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {EXIT_CODES, type ErrorCode} from '../../src/errors/errors.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin', 'run.js')

interface Result {
  code: number
  stdout: string
  stderr: string
}

let tmp: string
let home: string
let work: string

beforeAll(() => {
  for (const built of ['dist/cli/dispatch.js', 'dist/cli/oclif-main.js', 'oclif.manifest.json']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` before these tests`)
  }
  tmp = mkdtempSync(join(tmpdir(), 'orch-cli-errors-'))
  home = join(tmp, 'home')
  work = join(tmp, 'work')
  mkdirSync(home)
  // A git root, so configuration discovery stops here.
  mkdirSync(join(work, '.git'), {recursive: true})
})

afterAll(() => {
  rmSync(tmp, {recursive: true, force: true})
})

/** `node bin/run.js ARGS` with only PATH, HOME and the variables given. */
function orch(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {cwd: work, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env}, timeout: 30_000}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      resolve({code: error ? (typeof raw === 'number' ? raw : -1) : 0, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

interface ErrorDocument {
  error: {code: ErrorCode; message: string; hint: string | null; exitCode: number}
}

/** stdout is exactly one error document; stderr is its one line; the exit status is the table's. */
function expectErrorDocument(result: Result, code: ErrorCode): ErrorDocument['error'] {
  const doc = JSON.parse(result.stdout) as ErrorDocument // throws on anything but one JSON document
  expect(result.stdout.trim().startsWith('{')).toBe(true)
  expect(Object.keys(doc)).toEqual(['error'])
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'exitCode', 'hint', 'message'])
  const {error} = doc
  expect(error.code).toBe(code)
  expect(error.exitCode).toBe(EXIT_CODES[code])
  expect(result.code).toBe(EXIT_CODES[code])
  expect(typeof error.message).toBe('string')
  expect(error.message).not.toBe('')
  expect(error.hint === null || (typeof error.hint === 'string' && error.hint !== '')).toBe(true)
  expect(result.stderr).toBe(`orch: ${error.hint ? `${error.message} — ${error.hint}` : error.message}\n`)
  return error
}

function expectPlainError(result: Result, code: ErrorCode): string {
  expect(result.stdout).toBe('')
  expect(result.code).toBe(EXIT_CODES[code])
  expect(result.stderr.endsWith('\n')).toBe(true)
  const lines = result.stderr.slice(0, -1).split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^orch: /)
  return lines[0]!
}

const CASES: Array<{path: string; args: string[]; code: ErrorCode; says: string}> = [
  {path: 'fast route, bad value', args: ['route', '--json', '--memory', 'nonsense'], code: 'usage', says: '--memory'},
  {path: 'fast route → oclif, unknown flag', args: ['route', '--json', '--bogus'], code: 'usage', says: '--bogus'},
  {path: 'fast route → oclif, flag without its value', args: ['route', '--runtime', '--json'], code: 'usage', says: '--runtime'},
  {path: 'fast path, bad job name', args: ['run', '--json', 'bad.name', '--', 'true'], code: 'usage', says: 'bad.name'},
  {path: 'fast path, no host configured', args: ['list', '--json', '--where', 'cloud'], code: 'config', says: 'ORCH_HOST'},
  {path: 'fast path, no host configured (status)', args: ['status', '--json', '--where', 'cloud'], code: 'config', says: 'ORCH_HOST'},
  {path: 'fast path → oclif, missing argument', args: ['run', '--json'], code: 'usage', says: 'NAME'},
  {path: 'fast path → oclif, bad option value', args: ['list', '--json', '--where', 'moon'], code: 'usage', says: 'moon'},
  {path: 'fast path → oclif, unknown flag', args: ['stop', 'x', '--json', '--bogus'], code: 'usage', says: '--bogus'},
  {path: 'oclif, no host configured', args: ['cron', 'show', '--json'], code: 'config', says: 'ORCH_HOST'},
  {path: 'oclif, unknown flag', args: ['cron', 'show', '--json', '--bogus'], code: 'usage', says: '--bogus'},
  {path: 'oclif, bad argument', args: ['cron', 'sow', '--json'], code: 'usage', says: 'sow'},
  {path: 'oclif, a command without --json refuses it as JSON', args: ['logs', 'x', '--json'], code: 'usage', says: '--json'},
  {path: 'oclif, unknown command', args: ['rout', '--json'], code: 'usage', says: 'rout'},
]

describe('--json: an error is one JSON document on stdout and one line on stderr', () => {
  it.each(CASES)('$path: orch $args', async ({args, code, says}) => {
    const error = expectErrorDocument(await orch(args), code)
    expect(`${error.message} ${error.hint ?? ''}`).toContain(says)
  })

  it.each(CASES)('$path, without --json: nothing on stdout', async ({args, code}) => {
    const plain = args.filter((arg) => arg !== '--json')
    if (plain[0] === 'logs') return // its --json was the error
    expectPlainError(await orch(plain), code)
  })

  it.each(CASES.filter(({args}) => ['route', 'run', 'status', 'list', 'logs', 'stop'].includes(args[0]!)))(
    '$path: the fast paths and oclif print the same',
    async ({args}) => {
      const [fast, oclif] = await Promise.all([orch(args), orch(args, {ORCH_NO_FAST_PATH: '1'})])
      expect(fast).toEqual(oclif)
    },
  )

  it('--json after -- belongs to the command, not to orch', async () => {
    expectPlainError(await orch(['run', 'bad.name', '--', 'echo', '--json']), 'usage')
  })
})

describe('--where given: the reason is where-forced', () => {
  it('orch run --where local --json', async () => {
    const result = await orch(['run', 'forced-local', '--json', '--where', 'local', '--runtime', '1m', '--', 'true'])
    expect(result.code).toBe(0)
    const outcome = JSON.parse(result.stdout) as {target: string; reasons: Array<{code: string; message: string; inferred: boolean}>}
    expect(outcome.target).toBe('local')
    expect(outcome.reasons).toEqual([{code: 'where-forced', message: '--where local given; the rules say cloud', inferred: false}])
  })

  it('the human line names it', async () => {
    const result = await orch(['run', 'forced-local-2', '--where', 'local', '--', 'true'])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('(local; --where local given; the rules say cloud)')
  })
})
