import {createHmac, randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {fingerprint, judgeHostKey, parseKnownHosts, preferredHostKeyAlgorithms} from '../../../src/hosts/known-hosts.js'

describe('known_hosts', () => {
  const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)])
  const other = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)])
  const line = (hosts: string, blob = key) => `${hosts} ssh-ed25519 ${blob.toString('base64')}`

  it('matches plain, [host]:port, pattern and hashed entries', () => {
    expect(judgeHostKey(parseKnownHosts(line('example.com'), 'example.com', 22), key)).toEqual({status: 'known'})
    expect(judgeHostKey(parseKnownHosts(line('[10.0.0.1]:2222'), '10.0.0.1', 2222), key)).toEqual({status: 'known'})
    expect(parseKnownHosts(line('[10.0.0.1]:2222'), '10.0.0.1', 22)).toEqual([])
    expect(judgeHostKey(parseKnownHosts(line('*.example.com,!bad.example.com'), 'a.example.com', 22), key)).toEqual({status: 'known'})
    expect(parseKnownHosts(line('*.example.com,!bad.example.com'), 'bad.example.com', 22)).toEqual([])
    const salt = randomBytes(20)
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[127.0.0.1]:2200').digest('base64')}`
    expect(judgeHostKey(parseKnownHosts(line(hashed), '127.0.0.1', 2200), key)).toEqual({status: 'known'})
  })

  it('tells unknown from changed and revoked keys, with the SHA256 fingerprint', () => {
    const unknown = judgeHostKey([], key)
    expect(unknown).toEqual({status: 'unknown', keyType: 'ssh-ed25519', fingerprint: fingerprint(key)})
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(judgeHostKey(parseKnownHosts(line('h', other), 'h', 22), key).status).toBe('changed')
    expect(judgeHostKey(parseKnownHosts(`@revoked ${line('h')}`, 'h', 22), key).status).toBe('revoked')
    expect(preferredHostKeyAlgorithms(parseKnownHosts(line('h'), 'h', 22))).toEqual(['ssh-ed25519'])
  })
})
