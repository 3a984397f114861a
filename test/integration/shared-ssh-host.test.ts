/**
 * The connection orch mcp keeps (hosts/shared-ssh-host.ts) against the real sshd: scripts without
 * input run on a /bin/sh kept running on it (hosts/kept-shell.ts), and must answer byte for byte
 * what a channel of their own answers (stdout, stderr, status); calls in flight share it under the
 * server's MaxSessions; an aborted script takes its shell down, and the next one gets a new shell.
 */
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {loadConfig} from '../../src/config/config.js'
import type {ScriptResult} from '../../src/hosts/host.js'
import {SharedSshHost} from '../../src/hosts/shared-ssh-host.js'
import {type SshTarget, SshHost} from '../../src/hosts/ssh-host.js'
import {resolveCloudTarget} from '../../src/sites/sites.js'
import {type SandboxSshd, startSandboxSshd} from '../helpers/sandbox-sshd.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'
import {hostileScripts} from './helpers/hostile-scripts.js'
import {descendants, waitUntil} from './helpers/orch-cli.js'

const NO_SANDBOX = skipWithout('the shared SSH connection tests', SANDBOX_TOOLS)

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000})

let sandbox: SandboxSshd
let home: string
let shared: SharedSshHost
let direct: SshHost
let target: SshTarget

beforeAll(async () => {
  if (NO_SANDBOX) return
  sandbox = await startSandboxSshd({maxSessions: 3})
  home = mkdtempSync(join(tmpdir(), 'orch-shared-'))
  mkdirSync(join(home, '.git'))
  target = await resolveCloudTarget(loadConfig({cwd: home, env: {PATH: process.env.PATH, HOME: home, ...sandbox.env()}}))
  shared = new SharedSshHost(target)
  direct = new SshHost(target)
})

afterAll(async () => {
  await shared?.close()
  await direct?.close()
  await sandbox?.cleanup()
  if (home) rmSync(home, {recursive: true, force: true})
})

const text = (result: ScriptResult) => ({code: result.code, stdout: result.stdout.toString('latin1'), stderr: result.stderr})

const CASES: Array<{name: string; script: string; args?: string[]}> = [
  {name: 'status and both streams', script: 'echo out; echo err >&2; exit 7'},
  {name: 'no newline at the end of either stream', script: "printf 'no newline'; printf 'err no newline' >&2"},
  {name: 'nothing at all', script: ':'},
  {name: 'marker-like text', script: "printf 'ORCH-0123-END 5\\nORCH-%s-BEGIN\\n' x; printf 'ORCH-0123-END\\n' >&2"},
  {name: 'bytes that are not UTF-8', script: "printf '\\377\\376\\000\\001end'"},
  {name: 'arguments', script: 'printf "[%s]" "$0" "$@"', args: ["it's", '$HOME', 'two words', '', '日本']},
  {name: 'reads stdin: none', script: 'cat; echo "read $?"'},
  {name: 'exit inside a function', script: 'f() { echo in-f; exit 3; }; f; echo never'},
  {name: 'killed by a signal', script: 'kill -TERM $$'},
  {name: 'large output', script: 'i=0; while [ $i -lt 20000 ]; do echo "line $i of a fairly long output"; i=$((i+1)); done'},
]

describe.skipIf(NO_SANDBOX)('SharedSshHost', () => {
  it.each(CASES.map((c) => [c.name, c]))('answers as a channel of its own: %s', async (_, c) => {
    const [kept, own] = [await shared.run(c.script, {args: c.args}), await direct.run(c.script, {args: c.args})]
    expect(text(kept)).toEqual(text(own))
  })

  it('answers the hostile scripts as a channel of its own', async () => {
    for (const c of hostileScripts(sandbox.home)) {
      expect(text(await shared.run(c.script)), c.name).toEqual(text(await direct.run(c.script)))
    }
  })

  it('runs scripts without input, or with input a here-document can carry, on one kept shell; other input on channels of their own', async () => {
    const parents = new Set<string>()
    for (let i = 0; i < 8; i++) parents.add((await shared.run('echo $PPID')).stdout.toString().trim())
    expect(parents.size).toBe(1)
    // orch run's job files (bytes, small): the kept shell, as through the connection holder.
    const withInput = await shared.run('cat; echo " $PPID"', {input: 'data'})
    expect(withInput.stdout.toString()).toMatch(/^data \d+\n$/)
    expect(parents.has(withInput.stdout.toString().slice(5).trim())).toBe(true)
    // A NUL byte, which a here-document would drop: a channel of its own, every byte kept.
    const withNul = await shared.run('od -An -tx1 | tr -d " \n"; echo " $PPID"', {input: Buffer.from([0x61, 0x00, 0x62])})
    expect(withNul.stdout.toString()).toMatch(/^610062 \d+\n$/)
    expect(parents.has(withNul.stdout.toString().slice(7).trim())).toBe(false)
  })

  it('waits for the reader of a large output (backpressure) without losing a byte', async () => {
    const chunks: Buffer[] = []
    const code = await shared.stream('head -c 3000000 /dev/zero | tr "\\0" x; echo', {
      onStdout: async (chunk) => {
        chunks.push(chunk)
        await new Promise((resolve) => setTimeout(resolve, 1))
      },
    })
    expect(code).toBe(0)
    expect(Buffer.concat(chunks).toString()).toBe(`${'x'.repeat(3_000_000)}\n`)
  })

  it('serves 15 calls at once under MaxSessions 3, with and without input', async () => {
    const results = await Promise.all(
      Array.from({length: 15}, (_, i) => (i % 3 === 0 ? shared.run(`cat; sleep 0.2; echo " ${i}"`, {input: `in${i}`}) : shared.run(`sleep 0.2; echo ${i}; echo e${i} >&2`))),
    )
    results.forEach((result, i) => {
      expect(result.code).toBe(0)
      expect(result.stdout.toString()).toBe(i % 3 === 0 ? `in${i} ${i}\n` : `${i}\n`)
      if (i % 3 !== 0) expect(result.stderr).toBe(`e${i}\n`)
    })
  })

  it('opens the connection again after it dropped; a script running on it fails as a lost connection', async () => {
    const host = new SharedSshHost(target)
    try {
      expect((await host.run('echo before')).stdout.toString()).toBe('before\n')
      const running = host.run('sleep 30')
      await new Promise((resolve) => setTimeout(resolve, 500))
      // The sshd processes serving connections (the listener's children), killed: every connection drops.
      const served = descendants(sandbox.pid!)
      for (const pid of served) process.kill(pid, 'SIGKILL')
      await expect(running).rejects.toThrow(/closed|connection|ECONNRESET/i)
      await waitUntil('the served connections to end', () => served.every((pid) => !existsSync(`/proc/${pid}`)), 10_000)
      expect((await host.run('echo after')).stdout.toString()).toBe('after\n')
      expect((await host.run('echo again', {input: ''})).stdout.toString()).toBe('again\n')
    } finally {
      await host.close()
    }
  })

  it('an aborted script answers 130 at once; the next scripts run on other shells', async () => {
    // A connection of its own: the calls above lowered the other's channel limit to what the
    // server allowed, and a script that finds no room for a shell runs on a channel of its own.
    const host = new SharedSshHost(target)
    try {
      const stop = new AbortController()
      let shell = ''
      const started = Date.now()
      const code = await host.stream('echo $PPID; sleep 5; echo late', {
        onStdout: (chunk) => {
          shell += chunk.toString()
          stop.abort()
        },
        signal: stop.signal,
      })
      expect(code).toBe(130)
      expect(Date.now() - started).toBeLessThan(4000)
      expect(shell).toMatch(/^\d+\n$/)
      for (let i = 0; i < 4; i++) {
        const after = await host.run('echo $PPID; echo ok')
        expect(after.stdout.toString()).toMatch(/^\d+\nok\n$/)
        expect(after.stdout.toString().split('\n')[0]).not.toBe(shell.trim())
      }
    } finally {
      await host.close()
    }
  })
})

describe.skipIf(NO_SANDBOX)('KeptShell with input (the connection holder: orch run on a held connection)', () => {
  const INPUTS: Array<[string, Buffer]> = [
    ['none at all', Buffer.alloc(0)],
    ['a newline only', Buffer.from('\n')],
    ['no newline at the end', Buffer.from('last line')],
    ['lines like a here-document end', Buffer.from("ORCH_INPUT_x\nEOF\n'ORCH_INPUT_'\n")],
    ['backslashes, $ and quotes', Buffer.from('\\n $HOME `id` "\'\n\t\r\n')],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x80, 0x0a, 0xc3])],
    ['an orch run payload (the wrapper, 30 KB)', Buffer.from(`${'x'.repeat(100)}\n`.repeat(300))],
  ]

  it.each(INPUTS)('reaches the script byte for byte: %s', async (_label, input) => {
    const {KeptShell} = await import('../../src/hosts/kept-shell.js')
    const ssh = new SshHost(target)
    try {
      const shell = new KeptShell(ssh, () => {}, () => {})
      expect(shell.claim()).toBe(true)
      const out: Buffer[] = []
      const code = await shell.run('od -An -v -tx1 | tr -d " \\n"', {input, onStdout: (chunk) => void out.push(chunk)})
      expect(code).toBe(0)
      // Every byte, in order, and nothing after: the here-document's closing newline stays out.
      expect(Buffer.concat(out).toString()).toBe(input.toString('hex'))
      // The shell is still there for the next script.
      expect(shell.claim()).toBe(true)
      expect(await shell.run('echo next', {input: Buffer.from('ignored'), onStdout: () => {}})).toBe(0)
      shell.close()
    } finally {
      await ssh.close()
    }
  })

  it('refuses what a here-document cannot carry (a NUL byte), before running anything', async () => {
    const {KeptShell, ShellNotStarted} = await import('../../src/hosts/kept-shell.js')
    const ssh = new SshHost(target)
    try {
      const shell = new KeptShell(ssh, () => {}, () => {})
      expect(shell.claim()).toBe(true)
      // A caller's mistake (the channel pool never sends such input here), not ShellNotStarted,
      // which the pool reads as the server refusing sessions and would turn kept shells off.
      const refused = shell.run('touch never-made', {input: Buffer.from([0x61, 0x00, 0x62]), onStdout: () => {}})
      await expect(refused).rejects.toBeInstanceOf(TypeError)
      await expect(refused).rejects.not.toBeInstanceOf(ShellNotStarted)
      expect(shell.idle).toBe(true)
      expect((await ssh.run('test -e never-made && echo made || echo absent')).stdout.toString()).toBe('absent\n')
      shell.close()
    } finally {
      await ssh.close()
    }
  })
})
