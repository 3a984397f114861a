/**
 * ORCH_HOST as OpenSSH reads it (issue 12, items 1 and 2), against real OpenSSH on loopback: a test
 * ssh config (ORCH_SSH_CONFIG, and $HOME/.ssh/config) with aliases, a bastion sshd reached as a
 * ProxyJump hop, a ProxyCommand, a real `ssh-agent -a SOCKET` with and without keys, a stale
 * SSH_AUTH_SOCK, and bad input refused in one line with nothing created on any host.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {type SandboxSshd, startSandboxSshd} from '../helpers/sandbox-sshd.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'
import {BIN as BIN_PATH, OrchWorld, descendants, exec, stderrLines, tmuxEnv, waitUntil} from './helpers/orch-cli.js'

const NO_SANDBOX = skipWithout('the ssh-config integration tests', [...SANDBOX_TOOLS, 'ssh-agent', 'ssh-add'])

vi.setConfig({testTimeout: 180_000, hookTimeout: 120_000})

let world: OrchWorld
let bastion: SandboxSshd
let config: string
let closedPort: number
const agents: ChildProcess[] = []

/** The sandbox's settings that the ssh config takes over here. */
const VIA_CONFIG = {ORCH_PORT: undefined, ORCH_USER: undefined, ORCH_SSH_KEY: undefined, ORCH_KNOWN_HOSTS: undefined}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

async function keygen(name: string, passphrase = ''): Promise<string> {
  const path = join(world.tmp, name)
  rmSync(path, {force: true})
  rmSync(`${path}.pub`, {force: true})
  expect((await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', path])).code).toBe(0)
  return path
}

/** `ssh-agent -D -a SOCKET`, holding `keys`. */
async function startAgent(name: string, keys: readonly string[]): Promise<{socket: string; stop: () => Promise<void>}> {
  const socket = join(world.tmp, `${name}.sock`)
  rmSync(socket, {force: true})
  const child = spawn('ssh-agent', ['-D', '-a', socket], {stdio: 'ignore'})
  agents.push(child)
  // The socket file appears when the agent binds, a moment before it listens: until then a client
  // is refused. `ssh-add -l` exits 2 only when it cannot reach the agent.
  await waitUntil(`ssh-agent at ${socket}`, async () => existsSync(socket) && (await exec('ssh-add', ['-l'], {env: {...process.env, SSH_AUTH_SOCK: socket}})).code !== 2, 10_000)
  for (const key of keys) {
    const added = await exec('ssh-add', [key], {env: {...process.env, SSH_AUTH_SOCK: socket}})
    expect(added.code, added.stderr).toBe(0)
  }
  return {
    socket,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))
    },
  }
}

beforeAll(async () => {
  world = await OrchWorld.start()
  bastion = await startSandboxSshd()
  closedPort = await freePort()
  const target = world.sandbox
  config = join(world.tmp, 'ssh_config')
  writeFileSync(
    config,
    `Host bastion
  HostName 127.0.0.1
  Port ${bastion.port}
  User ${bastion.user}
  IdentityFile ${bastion.clientKeyPath}
  IdentitiesOnly yes
  UserKnownHostsFile ${bastion.knownHostsPath}

Host deadhop
  HostName 127.0.0.1
  Port ${closedPort}

Host target via-dead via-cmd cmd-dies
  HostName 127.0.0.1
  Port ${target.port}
  User ${target.user}
  IdentityFile ${target.clientKeyPath}
  UserKnownHostsFile ${target.knownHostsPath}

Host target
  ProxyJump bastion

Host via-dead
  ProxyJump deadhop

Host via-cmd
  ProxyCommand ${process.execPath} -e "const s = require('net').connect(%p, '%h'); process.stdin.pipe(s); s.pipe(process.stdout)"

Host cmd-dies
  ProxyCommand sh -c 'echo proxy gone >&2; exit 3'
`,
  )
})

afterAll(async () => {
  for (const agent of agents) agent.kill('SIGKILL')
  await bastion?.cleanup()
  await world?.cleanup()
})

describe.skipIf(NO_SANDBOX)('OpenSSH configuration', () => {
  it('an alias behind a ProxyJump hop: the job runs on the target, through the bastion', async () => {
    const env = {...VIA_CONFIG, ORCH_HOST: 'target', ORCH_SSH_CONFIG: config}
    const started = await world.orch(['run', 'via-jump', '--where', 'cloud', '--', 'sh', '-c', 'echo through the hop; sleep 3'], {env})
    expect(started.code, started.stderr).toBe(0)
    const follow = world.spawn(['logs', '-f', 'via-jump'], {env})
    // While the follower is connected, the bastion's sshd serves a connection.
    await waitUntil('a connection through the bastion', () => descendants(bastion.pid!).length > 0, 20_000)
    const result = await follow.output
    expect(result).toMatchObject({code: 0, stdout: 'through the hop\n[EXIT: 0]\n'})
    expect(world.logRootEntries()).toContain('via-jump')
  })

  it('a ProxyJump hop on a closed port: exit 6, one line naming the hop, nothing created', async () => {
    const before = world.logRootEntries()
    const result = await world.orch(['run', 'dead-hop', '--where', 'cloud', '--', 'touch', join(world.tmp, 'pwned')], {env: {...VIA_CONFIG, ORCH_HOST: 'via-dead', ORCH_SSH_CONFIG: config}})
    expect(result.code).toBe(6)
    const lines = stderrLines(result)
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/ProxyJump hop deadhop/)
    expect(lines[0]).toContain(`connection refused by 127.0.0.1:${closedPort} — check the hop deadhop (ProxyJump of via-dead in ${config})`)
    expect(world.logRootEntries()).toEqual(before)
    expect(existsSync(join(world.tmp, 'pwned'))).toBe(false)
  })

  it('a ProxyCommand is the socket', async () => {
    const env = {...VIA_CONFIG, ORCH_HOST: 'via-cmd', ORCH_SSH_CONFIG: config}
    expect((await world.orch(['run', 'via-cmd', '--where', 'cloud', '--', 'echo', 'over stdio'], {env})).code).toBe(0)
    expect(await world.orch(['logs', '-f', 'via-cmd'], {env})).toMatchObject({code: 0, stdout: 'over stdio\n[EXIT: 0]\n'})
  })

  it('a ProxyCommand that exits at once: exit 6, one line with its status and message', async () => {
    const before = world.logRootEntries()
    const result = await world.orch(['run', 'cmd-dies', '--where', 'cloud', '--', 'true'], {env: {...VIA_CONFIG, ORCH_HOST: 'cmd-dies', ORCH_SSH_CONFIG: config}})
    expect(result.code).toBe(6)
    const lines = stderrLines(result)
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/ProxyCommand for cmd-dies exited with status 3: proxy gone/)
    expect(lines[0]).toContain(config)
    expect(world.logRootEntries()).toEqual(before)
  })

  it('~/.ssh/config of $HOME is read without ORCH_SSH_CONFIG', async () => {
    mkdirSync(join(world.home, '.ssh'), {recursive: true})
    writeFileSync(join(world.home, '.ssh', 'config'), `Include ${config}\n`)
    try {
      const result = await world.orch(['status', '--json'], {env: {...VIA_CONFIG, ORCH_HOST: 'target'}})
      expect(result.code, result.stderr).toBe(0)
    } finally {
      rmSync(join(world.home, '.ssh', 'config'))
    }
  })

  it('user@host:port and host:port; with USER and LOGNAME unset the user comes from the password database', async () => {
    const {port, user} = world.sandbox
    for (const host of [`${user}@127.0.0.1:${port}`, `127.0.0.1:${port}`, `ssh://${user}@127.0.0.1:${port}`]) {
      const result = await world.orch(['list', '--json'], {env: {ORCH_HOST: host, ORCH_PORT: undefined, ORCH_USER: undefined, USER: undefined, LOGNAME: undefined}})
      expect(result.code, `${host}: ${result.stderr}`).toBe(0)
    }
  })

  it('ORCH_* settings win over the config', async () => {
    // The alias says port ${closedPort}; ORCH_PORT names the real one.
    const result = await world.orch(['list'], {env: {...VIA_CONFIG, ORCH_HOST: 'deadhop', ORCH_SSH_CONFIG: config, ORCH_PORT: String(world.sandbox.port), ORCH_SSH_KEY: world.sandbox.clientKeyPath, ORCH_KNOWN_HOSTS: world.sandbox.knownHostsPath}})
    expect(result.code, result.stderr).toBe(0)
  })

  describe.concurrent('bad ORCH_HOST: one line naming what to fix, non-zero, nothing created', () => {
    const BAD = ['a b', 'host;touch /tmp/orch-pwned', '$(touch /tmp/orch-pwned)', '`id`', 'h|x', 'h&x', '-oProxyCommand=touch /tmp/orch-pwned', "it's", 'h\nx', 'u@', '@h', 'h:99999', 'h:x']
    it.each(BAD.map((host) => [JSON.stringify(host), host]))('%s', async (_label, host) => {
      const before = world.logRootEntries()
      const result = await world.orch(['run', 'bad-host', '--where', 'cloud', '--', 'touch', '/tmp/orch-pwned'], {env: {ORCH_HOST: host}})
      expect(result.code, result.stderr).toBe(3)
      const lines = stderrLines(result)
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(/^orch: invalid ORCH_HOST .* — set ORCH_HOST to a host name, an alias/)
      expect(world.logRootEntries()).toEqual(before)
      expect(existsSync('/tmp/orch-pwned')).toBe(false)
    })
  })

  it('an unknown alias says so and names the config file read', async () => {
    const result = await world.orch(['list'], {env: {...VIA_CONFIG, ORCH_HOST: 'no-such-alias.invalid', ORCH_SSH_CONFIG: config}})
    expect(result.code).toBe(6)
    const lines = stderrLines(result)
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/no-such-alias\.invalid not found/)
    expect(lines[0]).toContain(config)
  })

  it('a missing ORCH_SSH_CONFIG: one line naming it', async () => {
    const missing = join(world.tmp, 'no-such-config')
    const result = await world.orch(['list'], {env: {ORCH_SSH_CONFIG: missing}})
    expect(result.code).toBe(3)
    const lines = stderrLines(result)
    expect(lines, result.stderr).toHaveLength(1)
    expect(lines[0]).toContain(missing)
  })
})

describe.skipIf(NO_SANDBOX)('keys in OpenSSH order', () => {
  /** The target's key as the default ~/.ssh/id_ed25519 of the test's HOME. */
  function defaultKey(): () => void {
    const dir = join(world.home, '.ssh')
    mkdirSync(dir, {recursive: true, mode: 0o700})
    copyFileSync(world.sandbox.clientKeyPath, join(dir, 'id_ed25519'))
    copyFileSync(`${world.sandbox.clientKeyPath}.pub`, join(dir, 'id_ed25519.pub'))
    return () => {
      rmSync(join(dir, 'id_ed25519'), {force: true})
      rmSync(join(dir, 'id_ed25519.pub'), {force: true})
    }
  }

  it('an empty agent, or one holding other keys, does not hide ~/.ssh/id_*', async () => {
    const undo = defaultKey()
    try {
      const empty = await startAgent('empty', [])
      const other = await startAgent('other', [await keygen('other_key')])
      for (const agent of [empty, other]) {
        const result = await world.orch(['list', '--json'], {env: {ORCH_SSH_KEY: undefined, SSH_AUTH_SOCK: agent.socket}})
        expect(result.code, result.stderr).toBe(0)
        expect(result.stderr).toBe('')
      }
      await empty.stop()
      await other.stop()
    } finally {
      undo()
    }
  })

  it('a stale SSH_AUTH_SOCK is passed over with a one-line note, never a crash', async () => {
    const undo = defaultKey()
    try {
      const agent = await startAgent('stale', [])
      await agent.stop()
      for (const socket of [agent.socket, join(world.tmp, 'never-was.sock')]) {
        const result = await world.orch(['list', '--json'], {env: {ORCH_SSH_KEY: undefined, SSH_AUTH_SOCK: socket}})
        expect(result.code, result.stderr).toBe(0)
        expect(stderrLines(result)).toEqual([expect.stringMatching(new RegExp(`^orch: note: the ssh-agent at ${socket} does not answer`))])
        expect(JSON.parse(result.stdout)).toBeInstanceOf(Array)
      }
    } finally {
      undo()
    }
  })

  it('an encrypted key the agent holds is used through the agent, asking nothing', async () => {
    const plain = await keygen('agent_plain')
    const encrypted = join(world.tmp, 'agent_encrypted')
    copyFileSync(plain, encrypted)
    copyFileSync(`${plain}.pub`, `${encrypted}.pub`)
    expect((await exec('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'sekrit-pass', '-f', encrypted])).code).toBe(0)
    await authorize(`${plain}.pub`)
    const agent = await startAgent('holds', [plain])
    const result = await world.orch(['list', '--json'], {env: {ORCH_SSH_KEY: encrypted, SSH_AUTH_SOCK: agent.socket}})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    // Without the agent the same key is encrypted and nobody can type: a failure naming the file.
    const alone = await world.orch(['list'], {env: {ORCH_SSH_KEY: encrypted}})
    expect(alone.code).toBe(6)
    expect(stderrLines(alone)).toEqual([expect.stringMatching(new RegExp(`authentication failed .*agent: none; files: none found; passed over: ${encrypted} \\(encrypted`))])
    await agent.stop()
  })

  it('IdentitiesOnly limits the agent to the configured files\' public halves', async () => {
    const inAgent = await keygen('only_agent')
    await authorize(`${inAgent}.pub`)
    const unrelated = await keygen('only_unrelated')
    const agent = await startAgent('only', [inAgent])
    const conf = join(world.tmp, 'only_config')
    const block = (file: string) => `Host only\n  HostName 127.0.0.1\n  Port ${world.sandbox.port}\n  IdentitiesOnly yes\n  IdentityFile ${file}\n  UserKnownHostsFile ${world.sandbox.knownHostsPath}\n`
    const env = {...VIA_CONFIG, ORCH_HOST: 'only', ORCH_SSH_CONFIG: conf, SSH_AUTH_SOCK: agent.socket}
    // The configured file is another key: the agent's key is not offered.
    writeFileSync(conf, block(unrelated))
    const refused = await world.orch(['list'], {env})
    expect(refused.code).toBe(6)
    expect(stderrLines(refused)).toEqual([expect.stringMatching(new RegExp(`tried agent: 0 keys; files: ${unrelated}\\)`))])
    // Only the public half on disk: the agent signs with its key.
    rmSync(inAgent)
    writeFileSync(conf, block(inAgent))
    const used = await world.orch(['list'], {env})
    expect(used.code, used.stderr).toBe(0)
    await agent.stop()
  })

  it('an authentication failure names what was tried, never a secret', async () => {
    const stranger = await keygen('stranger', 'pass-word-42')
    const agent = await startAgent('strangers', [await keygen('stranger_in_agent')])
    const result = await world.orch(['list'], {env: {ORCH_SSH_KEY: stranger, ORCH_SSH_PASSPHRASE: 'pass-word-42', SSH_AUTH_SOCK: agent.socket}})
    expect(result.code).toBe(6)
    const lines = stderrLines(result)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^orch: authentication failed for ${world.sandbox.user}@127\\.0\\.0\\.1:${world.sandbox.port} \\(tried agent: 1 key; files: ${stranger}\\)`))
    expect(result.stderr).not.toContain('pass-word-42')
    await agent.stop()
  })
})

describe.skipIf(NO_SANDBOX)('passphrase on a terminal', () => {
  it('the prompt stays visible, reads without echo, and the key is used', async () => {
    const encrypted = join(world.tmp, 'pty_encrypted')
    copyFileSync(world.sandbox.clientKeyPath, encrypted)
    expect((await exec('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'typed-secret-7', '-f', encrypted])).code).toBe(0)
    const socket = `orch-pty-${process.pid}`
    const done = join(world.tmp, 'pty-done')
    const env = world.env({ORCH_SSH_KEY: encrypted, TERM: 'xterm'})
    const assignments = Object.entries(env).map(([key, value]) => `${key}=${shellQuote(value!)}`).join(' ')
    const command = `cd ${shellQuote(world.work)} && env -i ${assignments} ${shellQuote(process.execPath)} ${shellQuote(BIN_PATH)} list; echo "rc=$?" > ${shellQuote(done)}; sleep 30`
    const tmux = (args: string[]) => exec('tmux', ['-L', socket, ...args], {env: tmuxEnv()})
    try {
      expect((await tmux(['new-session', '-d', '-x', '160', '-y', '20', '-s', 'pty', command])).code).toBe(0)
      const pane = async () => (await tmux(['capture-pane', '-p', '-t', 'pty'])).stdout
      const prompt = `Passphrase for ${encrypted}: `
      await waitUntil('the passphrase prompt', async () => (await pane()).includes(prompt.trim()), 30_000)
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(await pane()).toContain(prompt.trim()) // still there: not erased
      await tmux(['send-keys', '-t', 'pty', '-l', 'typed-secret-7'])
      await tmux(['send-keys', '-t', 'pty', 'Enter'])
      await waitUntil('orch list to end', () => existsSync(done), 60_000)
      expect(readFileSync(done, 'utf8').trim()).toBe('rc=0')
      const shown = await pane()
      expect(shown).toContain(prompt.trim())
      expect(shown).not.toContain('typed-secret-7')
    } finally {
      await tmux(['kill-server'])
    }
  })
})

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}

/** Adds a public key to the target's authorized_keys. */
async function authorize(pub: string): Promise<void> {
  const file = join(world.sandbox.dir, 'authorized_keys')
  writeFileSync(file, `${readFileSync(file, 'utf8')}${readFileSync(pub, 'utf8')}`)
}
