/**
 * Shell completion through @oclif/plugin-autocomplete, on the BUILT CLI (`npm run build` first),
 * with a HOME of its own (the plugin writes its cache under ~/.cache/orch).
 */
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const home = mkdtempSync(join(tmpdir(), 'orch-cli-autocomplete-'))

afterAll(() => rmSync(home, {recursive: true, force: true}))

function orch(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {cwd: home, env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home}, timeout: 30_000}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      resolve({code: error ? (typeof raw === 'number' ? raw : -1) : 0, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

describe('orch autocomplete', () => {
  it('prints the setup steps for bash, and its completion script knows orch\'s commands and flags', async () => {
    const result = await orch(['autocomplete', 'bash'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('orch autocomplete script bash')
    const script = readFileSync(join(home, '.cache', 'orch', 'autocomplete', 'functions', 'bash', 'orch.bash'), 'utf8')
    for (const word of ['route', 'run', 'status', 'list', 'logs', 'stop', '--runtime', '--where']) expect(script).toContain(word)
  })
})
