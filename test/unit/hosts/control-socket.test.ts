/** The holder's socket: named by destination and credentials, in a private directory, short enough. */
import {chmodSync, mkdirSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {controlKey, controlSocketPath, privateDir} from '../../../src/hosts/control-socket.js'
import {FRAME, FrameDecoder, dataFrames, frame, jsonFrame} from '../../../src/hosts/holder-protocol.js'
import type {SshTarget} from '../../../src/hosts/ssh-config.js'

const tmp = mkdtempSync(join(tmpdir(), 'orch-cm-test-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const base: SshTarget = {host: '10.0.0.5', port: 22, user: 'deploy', keyPaths: ['/k/id_ed25519'], knownHostsPath: '/k/known_hosts', acceptNewHostKey: false}
const env = {HOME: join(tmp, 'home'), SSH_AUTH_SOCK: '/run/agent.sock'}

describe('controlKey', () => {
  it('is the same for the same destination and credentials, whatever else differs', () => {
    expect(controlKey({...base, name: 'alias', readyTimeoutMs: 5000}, env)).toBe(controlKey(base, env))
  })

  it.each<[string, Partial<SshTarget> | undefined, NodeJS.ProcessEnv | undefined]>([
    ['host', {host: '10.0.0.6'}, undefined],
    ['port', {port: 2222}, undefined],
    ['user', {user: 'root'}, undefined],
    ['explicit key', {keyPath: '/k/other'}, undefined],
    ['identity files', {keyPaths: ['/k/id_rsa']}, undefined],
    ['known_hosts', {knownHostsPath: '/k/other_known'}, undefined],
    ['host-key alias', {hostKeyAlias: 'box'}, undefined],
    ['jump hosts', {proxyJump: ['bastion']}, undefined],
    ['proxy command', {proxyCommand: 'nc %h %p'}, undefined],
    ['agent', undefined, {...env, SSH_AUTH_SOCK: '/run/other.sock'}],
  ])('differs with the %s', (_what, change, otherEnv) => {
    expect(controlKey({...base, ...change}, otherEnv ?? env)).not.toBe(controlKey(base, env))
  })
})

describe('controlSocketPath', () => {
  it('lives in ~/.orch/cm (made 0700), or $XDG_RUNTIME_DIR/orch', () => {
    const found = controlSocketPath('a'.repeat(32), env)
    expect(found).toEqual({ok: true, path: join(env.HOME, '.orch', 'cm', `${'a'.repeat(32)}.sock`)})
    expect(statSync(join(env.HOME, '.orch', 'cm')).mode & 0o777).toBe(0o700)
    const runtime = join(tmp, 'run')
    mkdirSync(runtime, {mode: 0o700})
    expect(controlSocketPath('b'.repeat(32), {...env, XDG_RUNTIME_DIR: runtime})).toEqual({ok: true, path: join(runtime, 'orch', `${'b'.repeat(32)}.sock`)})
  })

  it('moves a path too long for a Unix socket to a short private directory', () => {
    const deep = join(tmp, 'x'.repeat(60), 'y'.repeat(40))
    const found = controlSocketPath('c'.repeat(32), {HOME: deep})
    expect(found.ok).toBe(true)
    if (!found.ok) return
    expect(Buffer.byteLength(found.path)).toBeLessThanOrEqual(104)
    expect(found.path.endsWith(`${'c'.repeat(32)}.sock`)).toBe(true)
    expect(found.path.startsWith(deep)).toBe(false)
  })

  it('refuses a directory open to others', () => {
    const open = join(tmp, 'open')
    mkdirSync(open, {mode: 0o755})
    chmodSync(open, 0o755)
    expect(privateDir(open)).toEqual({ok: false, why: expect.stringContaining('open to others')})
  })
})

describe('holder frames', () => {
  it('are cut out of a byte stream however it is split', () => {
    const bytes = Buffer.concat([jsonFrame(FRAME.OPEN, {script: 'echo', args: ['a']}), ...dataFrames(FRAME.IN, Buffer.alloc(150_000, 7)), frame(FRAME.IN_END)])
    const decoder = new FrameDecoder()
    const seen: {type: number; payload: Buffer}[] = []
    for (let at = 0; at < bytes.length; at += 997) seen.push(...decoder.push(bytes.subarray(at, at + 997)))
    expect(seen.map((f) => f.type)).toEqual([FRAME.OPEN, FRAME.IN, FRAME.IN, FRAME.IN, FRAME.IN_END])
    expect(JSON.parse(seen[0]!.payload.toString())).toEqual({script: 'echo', args: ['a']})
    expect(Buffer.concat(seen.slice(1, 4).map((f) => f.payload)).equals(Buffer.alloc(150_000, 7))).toBe(true)
  })
})
