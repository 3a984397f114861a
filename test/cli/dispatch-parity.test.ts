/**
 * Every command answers the same through bin/run.js's dispatcher (its bundle under dist/fast/, built
 * by scripts/bundle-commands.mjs; src/cli/dispatch.ts when there is none) and through
 * oclif (ORCH_NO_FAST_PATH=1): the same stdout, stderr and exit status, errors included. Both reach
 * the same command class and the one parser, so a difference means the oclif wiring (argv, ids,
 * topics) or the dispatcher's lookup went wrong. Needs a build. Every run has its own HOME and no
 * ORCH_* variable: no cloud host is configured, and local jobs land in that HOME.
 */
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync} from 'node:fs'
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
  ['approve'],
  ['approve', 'bad.name'],
  ['approve', 'nope', '--where', 'local', '--json'],
  ['run', 'ok', '--max-cost', 'abc', '--', 'true'],
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

  it('every command in the manifest has its bundle, so none falls back to loading dist/ module by module', async () => {
    const {readFileSync} = await import('node:fs')
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    const missing = Object.keys(manifest.commands).filter((id) => !existsSync(join(ROOT, 'dist/fast/commands', `${id.replace(':', '/')}.cjs`)))
    expect(missing).toEqual([])
  })

  it('without bundles, bin/run.js answers the same through dist/ (a build whose bundling step did not run)', async () => {
    const {cpSync} = await import('node:fs')
    const copy = join(tmp, 'unbundled')
    for (const part of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) cpSync(join(ROOT, part), join(copy, part), {recursive: true})
    rmSync(join(copy, 'dist', 'fast'), {recursive: true})
    symlinkNodeModules(copy)
    const args = ['route', '--json', '--runtime', '15m']
    const bundled = await orch(args)
    const unbundled = await new Promise<{code: number; stdout: string}>((resolve) => {
      execFile(process.execPath, [join(copy, 'bin', 'run.js'), ...args], {cwd: work, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home}}, (error, stdout) =>
        resolve({code: error ? -1 : 0, stdout: String(stdout)}),
      )
    })
    expect(unbundled).toEqual({code: 0, stdout: bundled.stdout})
    expect(JSON.parse(bundled.stdout)).toMatchObject({target: 'cloud'})
  })
})

function symlinkNodeModules(dir: string): void {
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
}
