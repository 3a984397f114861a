import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import {describe, it, expect, beforeAll, afterAll} from 'vitest'
import {startSandboxSshd, type SandboxSshd} from '../helpers/sandbox-sshd.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the sandbox sshd tests', SANDBOX_TOOLS)

interface Result {
  code: number
  stdout: string
  stderr: string
}

function exec(file: string, args: string[], timeoutMs = 20_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, {timeout: timeoutMs}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      const code = error ? (typeof raw === 'number' ? raw : -1) : 0
      resolve({code, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

/** ssh with the sandbox args, replacing the known_hosts file when asked. */
function ssh(sandbox: SandboxSshd, command: string, knownHosts?: string): Promise<Result> {
  const args = sandbox.sshArgs().map((arg) =>
    knownHosts !== undefined && arg.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${knownHosts}` : arg,
  )
  return exec('ssh', [...args, command])
}

function tmuxHasSession(socket: string, session: string): Promise<Result> {
  return exec('tmux', ['-L', socket, 'has-session', '-t', session])
}

describe.skipIf(NO_SANDBOX)('sandbox sshd', () => {
  let sandbox: SandboxSshd

  beforeAll(async () => {
    sandbox = await startSandboxSshd()
  })

  afterAll(async () => {
    await sandbox?.cleanup()
  })

  it('exposes its files and orch configuration', async () => {
    expect(sandbox.host).toBe('127.0.0.1')
    expect(sandbox.port).toBeGreaterThan(0)
    expect(sandbox.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+$/)
    const knownHosts = await readFile(sandbox.knownHostsPath, 'utf8')
    expect(knownHosts.trim()).toBe(`[127.0.0.1]:${sandbox.port} ${sandbox.hostPublicKey}`)
    expect(existsSync(sandbox.clientKeyPath)).toBe(true)
    expect(existsSync(sandbox.logRoot)).toBe(true)
    expect(sandbox.logRoot.startsWith(sandbox.dir + path.sep)).toBe(true)
    const env = sandbox.env()
    expect(env).toEqual({
      ORCH_HOST: '127.0.0.1',
      ORCH_PORT: String(sandbox.port),
      ORCH_USER: sandbox.user,
      ORCH_SSH_KEY: sandbox.clientKeyPath,
      ORCH_KNOWN_HOSTS: sandbox.knownHostsPath,
      ORCH_LOG_ROOT: sandbox.logRoot,
      ORCH_TMUX_SOCKET: sandbox.tmuxSocket,
      ORCH_HOST_DIR: `${sandbox.home}/.orch`,
    })
    expect(env.ORCH_TMUX_SOCKET).toMatch(/^orch-test-[0-9a-f]+$/)
  })

  it('runs a command over the OpenSSH client', async () => {
    const result = await ssh(sandbox, 'echo hi')
    expect(result.stderr).toBe('')
    expect(result).toMatchObject({code: 0, stdout: 'hi\n'})
  })

  it('serves SFTP', async () => {
    // sftp takes -P for the port.
    const batch = path.join(sandbox.dir, 'sftp-batch')
    await writeFile(batch, `ls ${sandbox.logRoot}\n`)
    const args = sandbox.sshArgs()
    const portIndex = args.indexOf('-p')
    args[portIndex] = '-P'
    const sftp = await exec('sftp', ['-b', batch, ...args])
    expect(sftp.code, sftp.stderr).toBe(0)
  })

  it('refuses a host whose key is not in known_hosts (StrictHostKeyChecking=yes)', async () => {
    const empty = path.join(sandbox.dir, 'known_hosts.empty')
    await writeFile(empty, '')
    const unknown = await ssh(sandbox, 'echo hi', empty)
    expect(unknown.code).not.toBe(0)
    expect(unknown.stdout).toBe('')
    expect(unknown.stderr).toMatch(/Host key verification failed/)

    // A different key for the same host:port is refused too.
    const other = path.join(sandbox.dir, 'known_hosts.other')
    await writeFile(other, `[127.0.0.1]:${sandbox.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`)
    const changed = await ssh(sandbox, 'echo hi', other)
    expect(changed.code).not.toBe(0)
    expect(changed.stdout).toBe('')
  })

  it('comes back on the same port after kill() and restart()', async () => {
    const port = sandbox.port
    const firstPid = sandbox.pid
    await sandbox.kill()
    expect(sandbox.running).toBe(false)
    const down = await ssh(sandbox, 'echo hi')
    expect(down.code).not.toBe(0)

    await sandbox.restart()
    expect(sandbox.port).toBe(port)
    expect(sandbox.pid).not.toBe(firstPid)
    const up = await ssh(sandbox, 'echo again')
    expect(up).toMatchObject({code: 0, stdout: 'again\n'})
  })

  it('keeps an open SSH session alive when the listening sshd is killed', async () => {
    const session = ssh(sandbox, 'sleep 2; echo survived')
    await new Promise((resolve) => setTimeout(resolve, 700))
    await sandbox.kill()
    const result = await session
    expect(result).toMatchObject({code: 0, stdout: 'survived\n'})
    await sandbox.restart()
  })

  it('keeps tmux sessions started over SSH when sshd is killed or stopped and restarted', async () => {
    const socket = sandbox.tmuxSocket
    const started = await ssh(sandbox, `tmux -L ${socket} new-session -d -s probe 'sleep 600'`)
    expect(started.code, started.stderr).toBe(0)

    await sandbox.kill()
    expect((await tmuxHasSession(socket, 'probe')).code).toBe(0)
    await sandbox.restart()
    const afterKill = await ssh(sandbox, `tmux -L ${socket} has-session -t probe && echo present`)
    expect(afterKill).toMatchObject({code: 0, stdout: 'present\n'})

    await sandbox.stop()
    expect((await tmuxHasSession(socket, 'probe')).code).toBe(0)
    await sandbox.restart()
    const afterStop = await ssh(sandbox, `tmux -L ${socket} has-session -t probe && echo present`)
    expect(afterStop).toMatchObject({code: 0, stdout: 'present\n'})

    // The user's default tmux server is not involved.
    const list = await ssh(sandbox, `tmux -L ${socket} list-sessions -F '#{session_name}'`)
    expect(list.stdout).toBe('probe\n')
  })

  it('starts on a given port', async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
      })
    })
    const other = await startSandboxSshd({port})
    try {
      expect(other.port).toBe(port)
      expect(other.dir).not.toBe(sandbox.dir)
      expect(other.tmuxSocket).not.toBe(sandbox.tmuxSocket)
      const result = await ssh(other, 'echo second')
      expect(result).toMatchObject({code: 0, stdout: 'second\n'})
      // Each sandbox trusts only its own host key.
      const crossed = await ssh(other, 'echo crossed', sandbox.knownHostsPath)
      expect(crossed.code).not.toBe(0)
    } finally {
      await other.cleanup()
    }
  })

  it('fails with sshd stderr when the port is taken', async () => {
    await expect(startSandboxSshd({port: sandbox.port, startTimeoutMs: 5_000})).rejects.toThrow(
      /Address already in use|Cannot bind/,
    )
  })

  it('cleanup() stops sshd, kills its tmux server and removes the dir', async () => {
    const extra = await startSandboxSshd()
    const started = await ssh(extra, `tmux -L ${extra.tmuxSocket} new-session -d -s gone 'sleep 600'`)
    expect(started.code, started.stderr).toBe(0)
    const dir = extra.dir
    await extra.cleanup()
    expect(existsSync(dir)).toBe(false)
    expect(extra.running).toBe(false)
    expect((await tmuxHasSession(extra.tmuxSocket, 'gone')).code).not.toBe(0)
    await extra.cleanup() // idempotent
  })
})
