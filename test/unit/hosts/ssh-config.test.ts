import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {expandTokens, parseHostSpec, parseSshG, resolveSshTarget} from '../../../src/hosts/ssh-config.js'
import {findTool} from '../../helpers/requirements.js'

describe('parseHostSpec', () => {
  it.each([
    ['box', {host: 'box'}],
    ['bob@box', {user: 'bob', host: 'box'}],
    ['box:2222', {host: 'box', port: 2222}],
    ['bob@box:2222', {user: 'bob', host: 'box', port: 2222}],
    ['[::1]:2222', {host: '::1', port: 2222}],
    ['bob@[fe80::1%eth0]:22', {user: 'bob', host: 'fe80::1%eth0', port: 22}],
    ['[::1]', {host: '::1'}],
    ['::1', {host: '::1'}],
    ['ssh://bob@box:2200', {user: 'bob', host: 'box', port: 2200}],
    ['a.b-c_d.example', {host: 'a.b-c_d.example'}],
    ['first.last@box', {user: 'first.last', host: 'box'}],
  ])('%s', (text, expected) => {
    expect(parseHostSpec(text)).toEqual({user: undefined, port: undefined, ...expected})
  })

  it.each(['', 'a b', 'a;b', '$(id)', '`id`', 'a|b', 'a&b', "a'b", 'a"b', 'a\\b', 'a\nb', '-oProxyCommand=x', 'u@', '@h', 'h:0', 'h:65536', 'h:x', '[::1', 'a*', 'a,b', 'h/x'])(
    '%j is refused in one line naming ORCH_HOST',
    (text) => {
      expect(() => parseHostSpec(text)).toThrow(/^invalid ORCH_HOST /)
    },
  )
})

describe('parseSshG', () => {
  it('keeps every value of a repeated key, in order', () => {
    const g = parseSshG('user bob\nidentityfile ~/.ssh/a\nidentityfile ~/.ssh/b\nproxycommand nc %h %p\n')
    expect(g.get('identityfile')).toEqual(['~/.ssh/a', '~/.ssh/b'])
    expect(g.get('proxycommand')).toEqual(['nc %h %p'])
  })
})

describe('expandTokens', () => {
  const t = {home: '/h', localUser: 'me', host: '10.0.0.1', user: 'bob', port: 2200, name: 'box'}
  it('expands ~ and %d %u %h %r %p %n %%', () => {
    expect(expandTokens('~/.ssh/%r@%h:%p-%n-%u', t)).toBe('/h/.ssh/bob@10.0.0.1:2200-box-me')
    expect(expandTokens('%d/x/100%%', t)).toBe('/h/x/100%')
    expect(expandTokens('/abs/~/x', t)).toBe('/abs/~/x')
  })
})

const SSH = findTool('ssh')

describe.skipIf(!SSH)('resolveSshTarget through ssh -G', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-sshcfg-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const config = join(dir, 'config')
  writeFileSync(
    config,
    `Host box
  HostName 10.1.2.3
  User bob
  Port 2200
  IdentityFile ~/.ssh/box_%r
  IdentityFile %d/second
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile ${dir}/kh1 ${dir}/kh2
  StrictHostKeyChecking accept-new
  HostKeyAlias boxalias
  ConnectTimeout 7
  ServerAliveInterval 9
  ServerAliveCountMax 4

Host jumpy
  ProxyJump hop1,bob@hop2:2201

Host cmd
  ProxyCommand nc %h %p

Host fd
  ProxyUseFdpass yes
  ProxyCommand nc %h %p

Host *.wild
  User wilduser
`,
  )
  const env = {HOME: dir, PATH: process.env.PATH}
  const base = {configFile: config, defaultKnownHostsPath: join(dir, 'default_kh'), env}

  it('honours the Host block', async () => {
    const t = await resolveSshTarget('box', base)
    expect(t).toMatchObject({
      host: '10.1.2.3',
      user: 'bob',
      port: 2200,
      keyPaths: [join(dir, '.ssh/box_bob'), join(dir, 'second')],
      identitiesOnly: true,
      agentSocket: null,
      knownHostsPath: join(dir, 'kh1'),
      acceptNewHostKey: true,
      hostKeyAlias: 'boxalias',
      readyTimeoutMs: 7000,
      keepaliveIntervalMs: 9000,
      keepaliveCountMax: 4,
      configFile: config,
    })
    expect(t.otherKnownHostsPaths?.[0]).toBe(join(dir, 'kh2'))
  })

  it('explicit ORCH_* settings win', async () => {
    const t = await resolveSshTarget('box', {...base, user: 'eve', port: 22, keyPath: '/k', knownHostsPath: '/kh', acceptNewHostKey: false})
    expect(t).toMatchObject({host: '10.1.2.3', user: 'eve', port: 22, keyPath: '/k', knownHostsPath: '/kh', acceptNewHostKey: false})
    // Like ssh -i: the explicit key, then the configured files.
    expect(t.keyPaths).toEqual([join(dir, '.ssh/box_eve'), join(dir, 'second')])
  })

  it('user@host:port in ORCH_HOST wins over the block, ORCH_USER over both', async () => {
    expect(await resolveSshTarget('amy@box:2300', base)).toMatchObject({user: 'amy', port: 2300, host: '10.1.2.3'})
    expect(await resolveSshTarget('amy@box:2300', {...base, user: 'eve'})).toMatchObject({user: 'eve', port: 2300})
  })

  it('wildcard blocks; an unconfigured name keeps OpenSSH defaults (the passwd user, default keys)', async () => {
    expect(await resolveSshTarget('x.wild', base)).toMatchObject({host: 'x.wild', user: 'wilduser', port: 22})
    const t = await resolveSshTarget('plain.example', base)
    expect(t).toMatchObject({host: 'plain.example', user: userInfo().username, port: 22, knownHostsPath: join(dir, 'default_kh'), acceptNewHostKey: false, agentSocket: undefined, identitiesOnly: false})
    expect(t.keyPaths).toContain(join(dir, '.ssh/id_ed25519'))
  })

  it('ProxyJump hops and ProxyCommand tokens', async () => {
    expect((await resolveSshTarget('jumpy', base)).proxyJump).toEqual(['hop1', 'bob@hop2:2201'])
    expect((await resolveSshTarget('cmd', base)).proxyCommand).toBe('nc cmd 22')
  })

  it('refuses ProxyUseFdpass with a message naming the file', async () => {
    await expect(resolveSshTarget('fd', base)).rejects.toThrow(/ProxyUseFdpass yes is not supported/)
  })

  it('without an ssh binary the name is taken literally', async () => {
    const t = await resolveSshTarget('amy@box:2300', {...base, sshBinary: join(dir, 'no-ssh-here')})
    expect(t).toMatchObject({host: 'box', user: 'amy', port: 2300, configFile: undefined})
  })
})
