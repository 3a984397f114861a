/**
 * Every command answers the same through bin/run.js's dispatcher (src/cli/dispatch.ts) and through
 * oclif (ORCH_NO_FAST_PATH=1): the same stdout, stderr and exit status, errors included. Both reach
 * the same command class and the one parser, so a difference means the oclif wiring (argv, ids,
 * topics) or the dispatcher's lookup went wrong. Needs a build. Every run has its own HOME and no
 * ORCH_* variable: no cloud host is configured, and local jobs land in that HOME.
 */
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin', 'run.js')

let tmp: string
let home: string
let work: string

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli/dispatch.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests')
  tmp = mkdtempSync(join(tmpdir(), 'orch-cli-parity-'))
  home = join(tmp, 'home')
  work = join(tmp, 'work')
  mkdirSync(home)
  mkdirSync(join(work, '.git'), {recursive: true})
})

afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function orch(args: readonly string[], env: Record<string, string> = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {cwd: work, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env}, timeout: 30_000}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      resolve({code: error ? (typeof raw === 'number' ? raw : -1) : 0, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

// Argument lists that touch no host, or fail before they would: nothing here starts a job.
const ARGUMENT_LISTS: string[][] = [
  ['route', '--json', '--runtime', '15m', '--', 'make', '-j8'],
  ['route', '--parallel', '-1'],
  ['route', '--runtime', '--json'],
  ['run'],
  ['run', '--json'],
  ['run', 'bad.name', '--', 'true'],
  ['run', 'ok', '--where', 'moon', '--', 'true'],
  ['run', 'ok', '--retries', 'x', '--', 'true'],
  ['run', 'ok', '--backoff', '0.5', '--', 'true'],
  ['run', 'ok', '--max-log-size', 'big', '--', 'true'],
  ['run', 'ok', '--wait=yes', '--', 'true'],
  ['run', 'ok', '--where', 'cloud', '--json', '--', 'true'],
  ['run', 'ok', '--remote-dir', '/x', '--', 'true'],
  ['status', '--json', '--where', 'local'],
  ['status', '--where', 'local'],
  ['status', '--where', 'cloud'],
  ['status', '--where', 'local', '--', 'extra'],
  ['list', '--json', '--where', 'local'],
  ['list', '--where', 'local', '--where', 'cloud'],
  ['logs'],
  ['logs', 'nope', '--where', 'local'],
  ['logs', 'x', '--json'],
  ['logs', 'x', '--tail', 'many'],
  ['logs', 'x', '-f', '--since', 'soon'],
  ['logs', 'x', '-fz'],
  ['stop', 'nope', '--where', 'local', '--json'],
  ['stop', 'x', '--grace', 'soon'],
  ['attach'],
  ['attach', 'x', '--json'],
  ['prune', '--older-than', '1h'],
  ['prune', '--dry-run', '--where', 'local', '--json'],
  ['pull', 'x', '--diff', 'a.txt'],
  ['pull', 'x', '/etc/passwd', '--where', 'local'],
  ['rollback', 'x', '--bogus'],
  ['ship', 'bad/name'],
  ['cron', 'sow'],
  ['cron', 'show', '--where', 'cloud', '--json'],
  ['host', 'status', '--json'],
  ['host', 'up', '--start-timeout', 'later'],
  ['host', 'down', '--json', '--force=1'],
  ['host', 'autostop'],
  ['host', 'autostop', '10s'],
  ['host', 'bootstrap', '--json', '--bogus'],
  ['host', 'disconnect', '--json'],
  ['mcp', '--bogus'],
  ['mcp', '--json'],
]

describe('the dispatcher and oclif print the same', () => {
  it.each(ARGUMENT_LISTS.map((args) => [args.join(' ')]))('orch %s', async (joined) => {
    const args = ARGUMENT_LISTS.find((list) => list.join(' ') === joined)!
    const [direct, viaOclif] = await Promise.all([orch(args), orch(args, {ORCH_NO_FAST_PATH: '1'})])
    expect(direct).toEqual(viaOclif)
    // Every one of these is answered: an error is one line on stderr, or a result on stdout.
    expect(direct.stdout + direct.stderr).not.toBe('')
  })

  // oclif reads `status extra` as an unknown command "status extra"; the dispatcher, which knows
  // the command, names the stray word. Both refuse with the usage status.
  it('a stray word after a command that takes none is refused, naming it', async () => {
    for (const args of [['status', 'extra'], ['host', 'bootstrap', 'extra']]) {
      const result = await orch(args)
      expect(result).toMatchObject({code: 2, stdout: ''})
      expect(result.stderr).toBe(`orch: unexpected argument "extra" — see orch ${args.slice(0, -1).join(' ')} --help\n`)
    }
  })

  it('covers every command in the manifest', async () => {
    const {readFileSync} = await import('node:fs')
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    const covered = new Set(ARGUMENT_LISTS.map((args) => (args[0] === 'host' ? `host:${args[1]}` : args[0])))
    expect(Object.keys(manifest.commands).filter((id) => !covered.has(id))).toEqual([])
  })
})
