/**
 * A small cache of the resolved instance address, so repeated commands do not call AWS each time
 * while the instance is known to be running. One JSON file per key under a cache directory the
 * caller passes (e.g. ~/.cache/orch); written atomically (temp file + rename), readable by the
 * owner only. A missing, corrupt, stale or not-running entry simply reads as "no cached address".
 *
 * The key is the instance id, or for a tag target `targetCacheKey(target)` ("tag:Name=orch"),
 * since the id is not known before asking AWS. Public DNS names change on every stop/start:
 * callers should invalidate the entry when they stop the instance or when connecting fails.
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {Ec2Target, InstanceState} from './ec2.js'

export interface InstanceCacheEntry {
  instanceId: string
  state: InstanceState
  /** The address picked for SSH (see pickAddress), or null when none. */
  address: string | null
  /** ISO 8601 time the state was read from AWS. */
  checkedAt: string
  /** Whether `address` is the private IP (ORCH_EC2_USE_PRIVATE_IP); an entry made the other way is not reused. */
  usePrivateIp?: boolean
}

/** The cache key for a target: the instance id, or "tag:KEY=VALUE". */
export function targetCacheKey(target: Ec2Target): string {
  if (target.instanceId) return target.instanceId
  if (target.tag) return `tag:${target.tag.key}=${target.tag.value}`
  return 'none'
}

export function cacheFile(dir: string, key: string): string {
  const safe = /^[A-Za-z0-9-]{1,64}$/.test(key) ? key : `key-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`
  return path.join(dir, `ec2-${safe}.json`)
}

export async function writeCache(dir: string, entry: InstanceCacheEntry, key: string = entry.instanceId): Promise<void> {
  await mkdir(dir, {recursive: true, mode: 0o700})
  const file = cacheFile(dir, key)
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`
  await writeFile(temporary, `${JSON.stringify({key, ...entry}, null, 2)}\n`, {mode: 0o600})
  await rename(temporary, file)
}

/** The stored entry, or null when there is none or it cannot be read. */
export async function readCache(dir: string, key: string): Promise<InstanceCacheEntry | null> {
  let text: string
  try {
    text = await readFile(cacheFile(dir, key), 'utf8')
  } catch {
    return null
  }
  try {
    const data: unknown = JSON.parse(text)
    if (typeof data !== 'object' || data === null) return null
    const record = data as Record<string, unknown>
    if (record.key !== undefined && record.key !== key) return null
    if (typeof record.instanceId !== 'string' || typeof record.state !== 'string' || typeof record.checkedAt !== 'string') return null
    if (record.address !== null && typeof record.address !== 'string') return null
    const entry: InstanceCacheEntry = {
      instanceId: record.instanceId,
      state: record.state as InstanceState,
      address: record.address,
      checkedAt: record.checkedAt,
    }
    if (typeof record.usePrivateIp === 'boolean') entry.usePrivateIp = record.usePrivateIp
    return entry
  } catch {
    return null
  }
}

export interface ReadCachedAddressOptions {
  usePrivateIp?: boolean
  /** Injected in tests (default Date.now()). */
  now?: number
}

/** The cached address when the instance was recorded as running at most maxAgeMs ago; else null. */
export async function readCachedAddress(dir: string, key: string, maxAgeMs: number, options: ReadCachedAddressOptions = {}): Promise<string | null> {
  const entry = await readCache(dir, key)
  if (!entry || entry.state !== 'running' || !entry.address) return null
  if ((entry.usePrivateIp ?? false) !== (options.usePrivateIp ?? false)) return null
  const checkedAt = Date.parse(entry.checkedAt)
  if (Number.isNaN(checkedAt)) return null
  const age = (options.now ?? Date.now()) - checkedAt
  // A checkedAt in the future (clock change) is not trusted either, beyond a minute of skew.
  if (age > maxAgeMs || age < -60_000) return null
  return entry.address
}

export async function invalidateCache(dir: string, key: string): Promise<void> {
  await rm(cacheFile(dir, key), {force: true})
}
