/**
 * orch run --env-file against the real sshd and tmux (issue 11.5), through the installed path: the
 * `orch` executable run by its shebang (as on PATH after npm link). A bad line, a binary file, a
 * missing file, a directory or a FIFO is refused with orch's own one-line message and the usage
 * exit status, within seconds, and nothing is started on the host.
 */
import {execFile} from 'node:child_process'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, OrchWorld, type Result, waitUntil} from './helpers/orch-cli.js'
import {spawnSync} from 'node:child_process'

let world: OrchWorld
let scratch: string

beforeAll(async () => {
  world = await OrchWorld.start()
  scratch = join(world.tmp, 'scratch')
  mkdirSync(scratch, {recursive: true})
})

afterAll(async () => {
  await world?.cleanup()
})

/** The orch executable itself (its shebang), not `node bin/run.js`. */
function orchExe(args: readonly string[], timeoutMs = 30_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(BIN, args as string[], {cwd: world.work, env: world.env(), timeout: timeoutMs, killSignal: 'SIGKILL'}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      resolve({code: error ? (typeof raw === 'number' ? raw : null) : 0, signal: child.signalCode, stdout: String(stdout), stderr: String(stderr)})
    })
    child.stdin?.end()
  })
}

describe('--env-file', {timeout: 120_000}, () => {
  it('a good file: the values reach the command', async () => {
    const file = join(scratch, 'good.env')
    writeFileSync(file, '# comment\nexport API_TOKEN="tok en"\nOTHER=2 # note\n')
    const result = await orchExe(['run', 'env-good', '--where', 'cloud', '--env-file', file, '--', 'echo "[$API_TOKEN][$OTHER]"'])
    expect(result.code, result.stderr).toBe(0)
    await waitUntil('env-good to end', () => readdirSync(join(world.logRoot, 'env-good')).includes('exit'), 30_000)
    expect(world.readLog('env-good')).toBe('[tok en][2]\n[EXIT: 0]\n')
  })

  it.each([
    ['a space in a name', 'bad-name.env', 'OK=1\nAPI TOKEN=secret\n', /^orch: --env-file \S+bad-name\.env is not a valid env file: line 2 "API TOKEN" is not a variable name/],
    ['binary content', 'binary.env', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]), /binary file/],
    ['a missing file', 'nonexistent.env', undefined, /nonexistent\.env does not exist — /],
    ['a directory', 'a-directory', 'dir', /a-directory is a directory, not a file — /],
    ['a FIFO (must not hang)', 'a-fifo', 'fifo', /a-fifo is a named pipe \(FIFO\), not a file — /],
  ])('%s: refused with orch\'s one-line message, exit 2, nothing started', async (_, file, content, message) => {
    const path = join(scratch, file)
    if (content === 'dir') mkdirSync(path)
    else if (content === 'fifo') expect(spawnSync('mkfifo', [path]).status).toBe(0)
    else if (content !== undefined) writeFileSync(path, content)
    const name = `env-${file.replace(/\W/g, '-')}`
    const before = Date.now()
    const result = await orchExe(['run', name, '--where', 'cloud', '--env-file', path, '--', 'echo ran'], 20_000)
    expect(Date.now() - before).toBeLessThan(15_000)
    expect(result.code, result.stderr).toBe(2)
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(message)
    expect(result.stderr).not.toMatch(/secret|^node:/m)
    expect(world.logRootEntries().filter((entry) => entry === name)).toEqual([])
  })
})
