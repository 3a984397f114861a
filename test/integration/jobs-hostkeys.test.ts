/**
 * Host-key verification against a real OpenSSH server (unknown, accepted, changed, hashed
 * known_hosts entries) and job names refused before anything touches the host.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {OrchWorld, exec, stderrLines} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the host-key integration tests', SANDBOX_TOOLS)

// Each test runs the CLI many times; a loaded machine (2 cores, other suites) makes that slow.
vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

let world: OrchWorld
let fingerprint: string

beforeAll(async () => {
  world = await OrchWorld.start()
  const pub = join(world.tmp, 'host_key.pub')
  writeFileSync(pub, `${world.sandbox.hostPublicKey}\n`)
  const printed = await exec('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub])
  fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(printed.stdout)![0]
})

afterAll(async () => {
  await world?.cleanup()
})

let files = 0
/** A known_hosts file of the test's own, holding `text`. */
function knownHosts(text: string): string {
  const path = join(world.tmp, `known_hosts_${++files}`)
  writeFileSync(path, text)
  return path
}

async function otherKey(): Promise<string> {
  const path = join(world.tmp, `other_${++files}`)
  expect((await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path])).code).toBe(0)
  return readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
}

const hostToken = () => `[127.0.0.1]:${world.sandbox.port}`

/** OpenSSH itself accepts the file for this server. */
async function opensshAccepts(path: string): Promise<boolean> {
  const args = world.sandbox.sshArgs().map((arg) => (arg.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${path}` : arg))
  return (await exec('ssh', [...args, 'true'])).code === 0
}

describe.skipIf(NO_SANDBOX)('host keys', () => {
  it('unknown key: exit 7 with its SHA256 fingerprint and how to accept it; nothing created on the host', async () => {
    const unrelated = await otherKey()
    for (const text of ['', `# comment only\n`, `[127.0.0.1]:1 ${unrelated}\n`, `127.0.0.1 ${world.sandbox.hostPublicKey}\n`]) {
      const path = knownHosts(text)
      for (const args of [['run', 'hk-unknown', '--where', 'cloud', '--', 'touch /tmp/should-not-exist'], ['list'], ['status', '--json']]) {
        const result = await world.orch(args, {env: {ORCH_KNOWN_HOSTS: path}})
        expect(result.code, `${args[0]} with ${JSON.stringify(text)}`).toBe(7)
        const lines = stderrLines(result)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(fingerprint)
        expect(lines[0]).toMatch(/unknown host key/)
        expect(lines[0]).toMatch(/--accept-new-host-key|ORCH_ACCEPT_NEW_HOST_KEY=1/)
        if (args.includes('--json')) expect(JSON.parse(result.stdout)).toMatchObject({error: {code: 'hostKey', exitCode: 7}})
        else expect(result.stdout).toBe('')
      }
      expect(readFileSync(path, 'utf8')).toBe(text)
    }
    expect(world.logRootEntries()).toEqual([])
  })

  it('a missing known_hosts file is an unknown key too', async () => {
    const path = join(world.tmp, 'no-such-dir', 'known_hosts')
    const result = await world.orch(['list'], {env: {ORCH_KNOWN_HOSTS: path}})
    expect(result.code).toBe(7)
    expect(result.stderr).toContain(fingerprint)
    expect(existsSync(path)).toBe(false)
  })

  it('--accept-new-host-key connects and appends the key, in a form OpenSSH reads', async () => {
    const original = `# kept\n[example.org]:2222 ${await otherKey()}`
    const path = knownHosts(original) // no trailing newline: the append must add one
    const result = await world.orch(['run', 'hk-accepted', '--where', 'cloud', '--accept-new-host-key', '--', 'echo accepted'], {env: {ORCH_KNOWN_HOSTS: path}})
    expect(result.code).toBe(0)
    const after = readFileSync(path, 'utf8')
    expect(after).toBe(`${original}\n${hostToken()} ${world.sandbox.hostPublicKey}\n`)
    expect(await opensshAccepts(path)).toBe(true)
    // Known now: no flag needed, and nothing appended twice.
    const again = await world.orch(['logs', '-f', 'hk-accepted'], {env: {ORCH_KNOWN_HOSTS: path}})
    expect(again).toMatchObject({code: 0, stdout: 'accepted\n[EXIT: 0]\n'})
    expect(readFileSync(path, 'utf8')).toBe(after)
  })

  it('ORCH_ACCEPT_NEW_HOST_KEY=1 does the same, creating the file', async () => {
    const path = join(world.tmp, 'fresh-dir', 'known_hosts')
    const result = await world.orch(['list', '--json'], {env: {ORCH_KNOWN_HOSTS: path, ORCH_ACCEPT_NEW_HOST_KEY: '1'}})
    expect(result.code).toBe(0)
    expect(readFileSync(path, 'utf8')).toBe(`${hostToken()} ${world.sandbox.hostPublicKey}\n`)
    expect(await opensshAccepts(path)).toBe(true)
  })

  it('changed key: exit 7 even with --accept-new-host-key, and the file is left alone', async () => {
    const text = `${hostToken()} ${await otherKey()}\n`
    const path = knownHosts(text)
    for (const env of [{ORCH_KNOWN_HOSTS: path}, {ORCH_KNOWN_HOSTS: path, ORCH_ACCEPT_NEW_HOST_KEY: '1'}]) {
      for (const flags of [[], ['--accept-new-host-key']]) {
        const result = await world.orch(['run', 'hk-changed', '--where', 'cloud', ...flags, '--', 'true'], {env})
        expect(result.code).toBe(7)
        const lines = stderrLines(result)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(/CHANGED/)
        expect(lines[0]).toContain(fingerprint)
      }
    }
    expect(readFileSync(path, 'utf8')).toBe(text)
    expect(await opensshAccepts(path)).toBe(false)
    expect(world.logRootEntries()).not.toContain('hk-changed')
  })

  it('@revoked key: exit 7', async () => {
    const path = knownHosts(`@revoked * ${world.sandbox.hostPublicKey}\n${hostToken()} ${world.sandbox.hostPublicKey}\n`)
    const result = await world.orch(['list'], {env: {ORCH_KNOWN_HOSTS: path}})
    expect(result.code).toBe(7)
    expect(result.stderr).toMatch(/REVOKED/)
  })

  it('hashed known_hosts entries (ssh-keygen -H): the right key connects, another key is a changed key', async () => {
    const good = knownHosts(`${hostToken()} ${world.sandbox.hostPublicKey}\n`)
    expect((await exec('ssh-keygen', ['-H', '-f', good])).code).toBe(0)
    const hashed = readFileSync(good, 'utf8')
    expect(hashed).toMatch(/^\|1\|/)
    expect(hashed).not.toContain('127.0.0.1')
    const ok = await world.orch(['run', 'hk-hashed', '--where', 'cloud', '--', 'echo hashed'], {env: {ORCH_KNOWN_HOSTS: good}})
    expect(ok.code).toBe(0)
    expect(await world.orch(['logs', '-f', 'hk-hashed'], {env: {ORCH_KNOWN_HOSTS: good}})).toMatchObject({code: 0, stdout: 'hashed\n[EXIT: 0]\n'})

    const bad = knownHosts(`${hostToken()} ${await otherKey()}\n`)
    expect((await exec('ssh-keygen', ['-H', '-f', bad])).code).toBe(0)
    const refused = await world.orch(['list'], {env: {ORCH_KNOWN_HOSTS: bad}})
    expect(refused.code).toBe(7)
    expect(refused.stderr).toMatch(/CHANGED/)

    // A hashed entry for another port does not count for this one.
    const otherPort = knownHosts(`[127.0.0.1]:${world.sandbox.port + 1} ${world.sandbox.hostPublicKey}\n`)
    expect((await exec('ssh-keygen', ['-H', '-f', otherPort])).code).toBe(0)
    expect((await world.orch(['list'], {env: {ORCH_KNOWN_HOSTS: otherPort}})).code).toBe(7)
  })

  it('a wildcard pattern entry matches', async () => {
    const path = knownHosts(`[127.0.0.*]:${world.sandbox.port} ${world.sandbox.hostPublicKey}\n`)
    expect(await opensshAccepts(path)).toBe(true)
    expect((await world.orch(['list'], {env: {ORCH_KNOWN_HOSTS: path}})).code).toBe(0)
  })
})

const BAD_NAMES = [
  'with.dot',
  '..',
  'a:b',
  'a/b',
  '../escape',
  'with space',
  'semi;colon',
  '$(touch pwned)',
  'back`tick`',
  "quo'te",
  'dq"uote',
  'pipe|x',
  'amp&x',
  'redir>x',
  'star*',
  'tab\tx',
  'new\nline',
  '',
  'x'.repeat(65),
  '-leading-dash',
  '_leading-underscore',
  'jöb',
  '日本語',
  'emoji🚀',
]

describe.skipIf(NO_SANDBOX)('bad job names', () => {
  let before: string[]
  beforeAll(() => {
    before = world.logRootEntries()
  })

  /** A few forms also go through every other command that takes a name. */
  const EVERY_COMMAND = new Set(['with.dot', 'a/b', '$(touch pwned)', '', '-leading-dash', 'x'.repeat(65), '日本語'])

  describe.concurrent('refused', () => {
    it.each(BAD_NAMES.map((name) => [JSON.stringify(name), name]))('%s: exit 2, one line, nothing on the host', async (_label, name) => {
      const commands = [['run', name, '--where', 'cloud', '--', 'touch /tmp/orch-bad-name']]
      if (EVERY_COMMAND.has(name)) commands.push(['run', name, '--where', 'local', '--', 'true'], ['stop', name], ['attach', name], ['logs', name], ['logs', '-f', name])
      const results = await Promise.all(commands.map((args) => world.orch(args)))
      results.forEach((result, i) => {
        const what = `${commands[i]!.join(' ')}: ${result.stderr}`
        expect(result.code, what).toBe(2)
        const lines = stderrLines(result)
        expect(lines, what).toHaveLength(1)
        // The line says the accepted form; a leading - is read as an (unknown) flag by the parser first.
        expect(lines[0], what).toMatch(name.startsWith('-') ? /^orch: unknown flag -l in -leading-dash — see orch [a-z]+ --help$/ : /^orch: invalid job name .* — use letters, digits, - and _, starting with a letter or digit, at most 64 characters/)
        expect(result.stdout, what).toBe('')
      })
    })
  })

  it('left nothing on the host or here', async () => {
    expect(world.logRootEntries()).toEqual(before)
    expect(existsSync(world.localLogRoot)).toBe(false)
    expect((await world.tmux(['list-sessions', '-F', '#{session_name}'])).stdout.split('\n').filter((s) => !s.startsWith('hk-') && s !== '')).toEqual([])
  })

  it('names are refused before connecting: exit 2 even with the host unreachable', async () => {
    const result = await world.orch(['run', 'bad.name', '--where', 'cloud', '--', 'true'], {env: {ORCH_PORT: '1'}})
    expect(result.code).toBe(2)
    expect(stderrLines(result)).toEqual([expect.stringMatching(/letters, digits, - and _/)])
  })

  it('the longest and shortest valid names are accepted', async () => {
    const longest = `a${'-_9Z'.repeat(15)}xyz`
    expect(longest).toHaveLength(64)
    for (const name of [longest, '7']) {
      const started = await world.orch(['run', name, '--where', 'cloud', '--', 'echo ok'])
      expect(started.code, started.stderr).toBe(0)
      expect(await world.orch(['logs', '-f', name])).toMatchObject({code: 0, stdout: 'ok\n[EXIT: 0]\n'})
    }
    expect(world.logRootEntries().sort()).toEqual([...before, '7', longest].sort())
  })
})
