import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {resolveSshTarget} from '../../../src/hosts/ssh-config.js'
import {findTool, skipWithout} from '../../helpers/requirements.js'

const realSsh = findTool('ssh') ?? 'ssh'
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
})

/**
 * A world of its own: a config file (-F, as ORCH_SSH_CONFIG), a private folder for kept answers, and
 * an ssh that is the real one behind a script counting its runs.
 */
function world() {
  const dir = mkdtempSync(join(tmpdir(), 'orch-ssh-g-cache-'))
  dirs.push(dir)
  const keep = join(dir, 'keep')
  mkdirSync(keep, {mode: 0o700})
  const count = join(dir, 'runs')
  writeFileSync(count, '')
  const ssh = join(dir, 'ssh')
  const writeSsh = (extra = '') => {
    writeFileSync(join(dir, 'ssh.new'), `#!/bin/sh\n${extra}echo run >> ${JSON.stringify(count)}\nexec ${JSON.stringify(realSsh)} "$@"\n`)
    chmodSync(join(dir, 'ssh.new'), 0o755)
    // A new file in its place (a new inode), as a package upgrade does.
    rmSync(ssh, {force: true})
    writeFileSync(ssh, readFileSync(join(dir, 'ssh.new')))
    chmodSync(ssh, 0o755)
  }
  writeSsh()
  const config = join(dir, 'config')
  const write = (file: string, text: string) => writeFileSync(file, text)
  const runs = () => readFileSync(count, 'utf8').split('\n').filter(Boolean).length
  const resolve = (options: {keep?: boolean} = {}) =>
    resolveSshTarget('box', {configFile: config, defaultKnownHostsPath: join(dir, 'kh'), env: {...process.env, HOME: dir}, sshBinary: ssh, keepSshGIn: options.keep === false ? undefined : keep})
  return {dir, config, write, runs, resolve, writeSsh}
}

describe.skipIf(skipWithout('the ssh -G cache tests', ['ssh']))('ssh -G answers kept between commands', () => {
  it('asks ssh once while nothing changes; asks again when the config file changes', async () => {
    const w = world()
    w.write(w.config, 'Host box\n  HostName 10.0.0.1\n  Port 2201\n')
    expect(await w.resolve()).toMatchObject({host: '10.0.0.1', port: 2201})
    expect(await w.resolve()).toMatchObject({host: '10.0.0.1', port: 2201})
    expect(w.runs()).toBe(1)
    // Same size, same second: the inode, mtime and ctime in nanoseconds still tell.
    w.write(w.config, 'Host box\n  HostName 10.0.0.2\n  Port 2201\n')
    expect(await w.resolve()).toMatchObject({host: '10.0.0.2', port: 2201})
    expect(w.runs()).toBe(2)
  })

  it("follows Include: an included file's change, and a file added to a wildcard Include's folder", async () => {
    const w = world()
    mkdirSync(join(w.dir, 'conf.d'))
    w.write(join(w.dir, 'extra'), 'Host box\n  User amy\n')
    w.write(w.config, `Include ${join(w.dir, 'extra')}\nInclude ${join(w.dir, 'conf.d')}/*.conf\nHost box\n  HostName 10.0.0.1\n`)
    expect(await w.resolve()).toMatchObject({user: 'amy', port: 22})
    await w.resolve()
    expect(w.runs()).toBe(1)
    w.write(join(w.dir, 'extra'), 'Host box\n  User bob\n')
    expect(await w.resolve()).toMatchObject({user: 'bob'})
    expect(w.runs()).toBe(2)
    w.write(join(w.dir, 'conf.d', 'port.conf'), 'Host box\n  Port 2300\n')
    expect(await w.resolve()).toMatchObject({user: 'bob', port: 2300})
    await w.resolve()
    expect(w.runs()).toBe(3)
    w.write(join(w.dir, 'conf.d', 'port.conf'), 'Host box\n  Port 2400\n')
    expect(await w.resolve()).toMatchObject({port: 2400})
    expect(w.runs()).toBe(4)
  })

  it('asks again when the ssh binary is replaced', async () => {
    const w = world()
    w.write(w.config, 'Host box\n  HostName 10.0.0.1\n')
    await w.resolve()
    w.writeSsh('# upgraded\n')
    await w.resolve()
    await w.resolve()
    expect(w.runs()).toBe(2)
  })

  it.for([
    ['Match exec', 'Match exec "true"\n  User amy\n'],
    ['Match localnetwork', 'Match !localnetwork 10.99.0.0/16\n  User amy\n'],
    ['CanonicalizeHostname', 'CanonicalizeHostname yes\n'],
    ['an Include with a token', 'Include %d/x.conf\n'],
    ['an environment variable ssh -G expands', 'Host box\n  IdentityAgent ${HOME}/agent.sock\n'],
    ["another user's ~ in an Include", 'Include ~nobody/x.conf\n'],
  ])('never keeps an answer that depends on more than files: %s', async ([what, text], context) => {
    const w = world()
    w.write(w.config, `${text}Host box\n  HostName 10.0.0.1\n`)
    // A directive this ssh does not know fails ssh -G, and a failed answer is never kept anyway:
    // the case would pass whatever the cache did.
    const accepted = spawnSync(realSsh, ['-G', '-F', w.config, 'box'], {encoding: 'utf8'})
    if (accepted.status !== 0) {
      console.warn(`skipping "${what}": this ssh refuses it (${accepted.stderr.trim().split('\n')[0]})`)
      return context.skip()
    }
    await w.resolve()
    await w.resolve()
    expect(w.runs()).toBe(2)
  })

  it('an ssh found through PATH: another one on PATH is asked, not answered for', async () => {
    const w = world()
    w.write(w.config, 'Host box\n  HostName 10.0.0.1\n')
    const other = join(w.dir, 'other')
    mkdirSync(other)
    writeFileSync(join(other, 'ssh'), `#!/bin/sh\necho other >> ${JSON.stringify(join(w.dir, 'runs'))}\nexec ${JSON.stringify(realSsh)} "$@"\n`)
    chmodSync(join(other, 'ssh'), 0o755)
    const viaPath = (folder: string) =>
      resolveSshTarget('box', {configFile: w.config, defaultKnownHostsPath: join(w.dir, 'kh'), env: {...process.env, HOME: w.dir, PATH: `${folder}:/usr/bin:/bin`}, sshBinary: 'ssh', keepSshGIn: join(w.dir, 'keep')})
    await viaPath(w.dir)
    await viaPath(other)
    await viaPath(w.dir)
    await viaPath(other)
    expect(readFileSync(join(w.dir, 'runs'), 'utf8').split('\n').filter(Boolean)).toEqual(['run', 'other'])
  })

  it('keeps nothing without a folder to keep it in (ORCH_CONTROL_PERSIST=0), nor a failed answer', async () => {
    const w = world()
    w.write(w.config, 'Host box\n  HostName 10.0.0.1\n')
    await w.resolve({keep: false})
    await w.resolve({keep: false})
    expect(w.runs()).toBe(2)
    w.write(w.config, 'Host box\n  NoSuchOption yes\n')
    await expect(w.resolve()).rejects.toThrow(/ssh -G box failed/)
    await expect(w.resolve()).rejects.toThrow(/ssh -G box failed/)
    expect(w.runs()).toBe(4)
  })
})
