/**
 * What a Slurm batch job cannot be is refused before orch connects anywhere: one line, status 2,
 * nothing created. ORCH_HOST names an address nothing listens on, so a command that tried to
 * connect would fail differently (status 6, "cannot connect"), and the local log root stays empty.
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

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/fast/commands/run.cjs'))) throw new Error('dist/ is missing: run `npm run build` before these tests')
  tmp = mkdtempSync(join(tmpdir(), 'orch-cli-slurm-'))
  mkdirSync(join(tmp, 'home'))
  mkdirSync(join(tmp, 'work', '.git'), {recursive: true})
})

afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function orch(args: readonly string[], env: Record<string, string> = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {cwd: join(tmp, 'work'), env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(tmp, 'home'), ORCH_HOST: 'nobody@127.0.0.1:1', ORCH_CONTROL_PERSIST: '0', ...env}, timeout: 30_000},
      (error, stdout, stderr) => {
        const raw = (error as {code?: unknown} | null)?.code
        resolve({code: error ? (typeof raw === 'number' ? raw : -1) : 0, stdout: String(stdout), stderr: String(stderr)})
      },
    )
  })
}

describe('orch run --scheduler slurm refuses what a batch job cannot do', () => {
  it('a service (--restart, --on-boot, --max-memory)', async () => {
    for (const flags of [['--restart', 'always'], ['--restart', 'on-failure', '--on-boot'], ['--max-memory', '500M']]) {
      const result = await orch(['run', 'svc', '--scheduler', 'slurm', ...flags, '--', 'sleep', '60'])
      expect(result).toMatchObject({code: 2, stdout: ''})
      expect(result.stderr).toMatch(/^orch: --restart, --max-memory and --on-boot are for jobs in tmux sessions, not Slurm batch jobs — drop them .*\n$/)
    }
  })

  it('a job that must wait for approval', async () => {
    const result = await orch(['run', 'dear', '--scheduler', 'slurm', '--runtime', '2h', '--max-cost', '1', '--', 'true'], {ORCH_HOURLY_PRICE: '3'})
    expect(result).toMatchObject({code: 2, stdout: ''})
    expect(result.stderr).toMatch(/^orch: dear must wait for approval \(.*\), which a Slurm batch job cannot do yet — approve it in advance with --approve/)
    expect(existsSync(join(tmp, 'home', 'logs'))).toBe(false)
  })

  it('with --approve it goes on to connect (and here finds nothing listening)', async () => {
    const result = await orch(['run', 'dear', '--scheduler', 'slurm', '--runtime', '2h', '--max-cost', '1', '--approve', '--', 'true'], {ORCH_HOURLY_PRICE: '3'})
    expect(result.code).not.toBe(2)
    expect(result.stderr).not.toContain('approval')
    // It got as far as connecting: refused there (status 6), not crashed nor timed out.
    expect(result.code, result.stderr).toBe(6)
  })
})
