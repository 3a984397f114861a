import {mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {
  cacheFile,
  invalidateCache,
  readCache,
  readCachedAddress,
  targetCacheKey,
  writeCache,
  type InstanceCacheEntry,
} from '../../../src/cloud/instance-cache.js'

const ID = 'i-0123456789abcdef0'
const DNS = 'ec2-3-120-1-2.eu-central-1.compute.amazonaws.com'
const T0 = Date.parse('2026-02-16T14:30:00Z')

let dir: string

beforeEach(async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'orch-cache-'))
  dir = path.join(base, 'nested', 'orch')
})

afterEach(async () => {
  await rm(path.dirname(path.dirname(dir)), {recursive: true, force: true})
})

const entry = (overrides: Partial<InstanceCacheEntry> = {}): InstanceCacheEntry => ({
  instanceId: ID,
  state: 'running',
  address: DNS,
  checkedAt: new Date(T0).toISOString(),
  ...overrides,
})

describe('instance cache', () => {
  it('writes JSON under the given dir (created, owner-only) and reads it back', async () => {
    await writeCache(dir, entry())
    const file = cacheFile(dir, ID)
    expect(path.dirname(file)).toBe(dir)
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({key: ID, ...entry()})
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await readCache(dir, ID)).toEqual(entry())
    expect(await readdir(dir)).toEqual([path.basename(file)])
  })

  it('returns the address of a recently running instance', async () => {
    await writeCache(dir, entry())
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0 + 59_000})).toBe(DNS)
  })

  it('ignores a stale entry', async () => {
    await writeCache(dir, entry())
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0 + 60_001})).toBeNull()
  })

  it('ignores an entry from the future (clock change)', async () => {
    await writeCache(dir, entry())
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0 - 3_600_000})).toBeNull()
  })

  it('ignores an instance not recorded as running', async () => {
    await writeCache(dir, entry({state: 'stopped', address: null}))
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0})).toBeNull()
    await writeCache(dir, entry({state: 'pending'}))
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0})).toBeNull()
  })

  it('does not reuse a public address when the private IP is wanted, nor the reverse', async () => {
    await writeCache(dir, entry())
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0, usePrivateIp: true})).toBeNull()
    await writeCache(dir, entry({address: '10.0.1.5', usePrivateIp: true}))
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0, usePrivateIp: true})).toBe('10.0.1.5')
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0})).toBeNull()
  })

  it('invalidateCache removes the entry (and is fine when there is none)', async () => {
    await writeCache(dir, entry())
    await invalidateCache(dir, ID)
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0})).toBeNull()
    await invalidateCache(dir, ID)
    await invalidateCache(path.join(dir, 'does-not-exist'), ID)
  })

  it('a missing dir or a corrupt file reads as no entry', async () => {
    expect(await readCachedAddress(path.join(dir, 'nope'), ID, 60_000)).toBeNull()
    await writeCache(dir, entry())
    await writeFile(cacheFile(dir, ID), '{not json')
    expect(await readCache(dir, ID)).toBeNull()
    await writeFile(cacheFile(dir, ID), JSON.stringify({instanceId: ID, state: 'running'}))
    expect(await readCachedAddress(dir, ID, 60_000)).toBeNull()
  })

  it('keys a tag target by its tag, in a safe file name', async () => {
    const key = targetCacheKey({tag: {key: 'Name', value: '../../etc/passwd'}})
    expect(key).toBe('tag:Name=../../etc/passwd')
    expect(targetCacheKey({instanceId: ID})).toBe(ID)
    await writeCache(dir, entry(), key)
    const file = cacheFile(dir, key)
    expect(path.dirname(file)).toBe(dir)
    expect(path.basename(file)).toMatch(/^ec2-key-[0-9a-f]{24}\.json$/)
    expect(await readCachedAddress(dir, key, 60_000, {now: T0})).toBe(DNS)
    expect(await readCachedAddress(dir, ID, 60_000, {now: T0})).toBeNull()
  })
})
