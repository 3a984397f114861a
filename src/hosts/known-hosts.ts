import {createHash, createHmac} from 'node:crypto'
import {appendFile, mkdir, readFile} from 'node:fs/promises'
import {dirname} from 'node:path'

/**
 * known_hosts as OpenSSH reads it: plain names and patterns (`*`, `?`, `!negation`), `[host]:port`
 * for non-22 ports, hashed entries (`|1|salt|hmac`), and `@revoked` markers.
 */
export interface KnownKey {
  keyType: string
  keyBase64: string
  revoked: boolean
}

export type HostKeyVerdict =
  | {status: 'known'}
  | {status: 'unknown'; fingerprint: string; keyType: string}
  | {status: 'changed'; fingerprint: string; keyType: string}
  | {status: 'revoked'; fingerprint: string; keyType: string}

/** `[host]:port` for non-default ports, as OpenSSH writes it. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`
}

/** The algorithm name stored at the start of an SSH public-key blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  const length = keyBlob.readUInt32BE(0)
  return keyBlob.subarray(4, 4 + length).toString('ascii')
}

/** An OpenSSH pattern (`*`, `?`, all else literal) as a RegExp: host names match it without regard to case, file names with. */
export function globToRegExp(pattern: string, flags = 'i'): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`, flags)
}

function hashedMatches(entry: string, token: string): boolean {
  const [, magic, salt, hash] = entry.split('|')
  if (magic !== '1' || !salt || !hash) return false
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64')
  return digest === hash
}

function hostFieldMatches(field: string, token: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, token)
  let matched = false
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(token)) return false
    } else if (globToRegExp(pattern).test(token)) {
      matched = true
    }
  }
  return matched
}

export function parseKnownHosts(text: string, host: string, port: number): KnownKey[] {
  const token = hostToken(host, port)
  const keys: KnownKey[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    let revoked = false
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift()
      if (marker === '@cert-authority') continue
      revoked = marker === '@revoked'
    }
    const [hosts, keyType, keyBase64] = fields
    if (!hosts || !keyType || !keyBase64) continue
    if (hostFieldMatches(hosts, token)) keys.push({keyType, keyBase64, revoked})
  }
  return keys
}

export async function readKnownHosts(path: string, host: string, port: number): Promise<KnownKey[]> {
  try {
    return parseKnownHosts(await readFile(path, 'utf8'), host, port)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/**
 * OpenSSH's rule: a presented key matching an entry is known; a host with entries of the same key
 * type but none matching has a changed key; otherwise it is unknown.
 */
export function judgeHostKey(known: readonly KnownKey[], keyBlob: Buffer): HostKeyVerdict {
  const keyType = keyTypeOf(keyBlob)
  const presented = keyBlob.toString('base64')
  const print = fingerprint(keyBlob)
  if (known.some((k) => k.revoked && k.keyBase64 === presented)) return {status: 'revoked', fingerprint: print, keyType}
  if (known.some((k) => !k.revoked && k.keyBase64 === presented)) return {status: 'known'}
  if (known.some((k) => !k.revoked && k.keyType === keyType)) return {status: 'changed', fingerprint: print, keyType}
  return {status: 'unknown', fingerprint: print, keyType}
}

export async function appendKnownHost(path: string, host: string, port: number, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(path), {recursive: true, mode: 0o700})
  let prefix = ''
  try {
    const existing = await readFile(path, 'utf8')
    if (existing.length > 0 && !existing.endsWith('\n')) prefix = '\n'
  } catch {}
  await appendFile(path, `${prefix}${hostToken(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`, {mode: 0o600})
}

/** Host-key algorithms to offer, preferring the types already recorded for this host. */
export function preferredHostKeyAlgorithms(known: readonly KnownKey[]): string[] | undefined {
  const types = [...new Set(known.filter((k) => !k.revoked).map((k) => k.keyType))]
  if (types.length === 0) return undefined
  return types.flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]))
}
