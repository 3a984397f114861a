/**
 * Wait until a freshly started host answers SSH: poll a plain TCP connection until the server
 * sends its identification line ("SSH-2.0-…", RFC 4253 §4.2). An open port alone is not enough:
 * during boot the port can accept and then drop connections before sshd is ready.
 * Node `net` only — no SSH library, no authentication, nothing sent to the server.
 */
import net from 'node:net'

import {OrchError} from '../errors/errors.js'
import {formatDuration, realSleep} from './util.js'

export interface WaitForSshOptions {
  /** Give up after this long (default 5 min). */
  timeoutMs?: number
  /** Pause between attempts (default 2 s). */
  pollMs?: number
  /** Longest a single connection attempt may take, connect plus banner (default 10 s). */
  attemptTimeoutMs?: number
  /** Told after each failed attempt, e.g. to update a spinner. */
  onAttempt?: (attempt: number, lastError: string, elapsedMs: number) => void
}

/** A server may send other lines before its identification line; this caps what we read. */
const MAX_PRE_BANNER_BYTES = 8192

type Attempt = {banner: string} | {error: string}

/** Resolves with the server's identification line (e.g. "SSH-2.0-OpenSSH_9.6") once it answers. */
export async function waitForSsh(host: string, port: number, options: WaitForSshOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5 * 60_000
  const pollMs = options.pollMs ?? 2_000
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000
  const startedAt = Date.now()
  const deadline = startedAt + timeoutMs
  let lastError = 'no attempt made'
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now()
    if (remaining <= 0) break
    const result = await readBanner(host, port, Math.min(attemptTimeoutMs, remaining))
    if ('banner' in result) return result.banner
    lastError = result.error
    options.onAttempt?.(attempt, lastError, Date.now() - startedAt)
    const left = deadline - Date.now()
    if (left <= 0) break
    await realSleep(Math.min(pollMs, left))
  }
  throw new OrchError(
    'connection',
    `no SSH answer from ${hostPort(host, port)} within ${formatDuration(timeoutMs)} (last: ${lastError})`,
    'check that the instance allows inbound TCP on that port from this machine (security group) and that sshd runs; raise --start-timeout if it boots slowly',
  )
}

function readBanner(host: string, port: number, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    let settled = false
    let connected = false
    let buffer = ''
    const socket = net.connect({host, port})
    socket.setEncoding('latin1')
    const finish = (result: Attempt) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(
      () => finish({error: connected ? `connected, but no SSH banner within ${formatDuration(timeoutMs)}` : `connect timed out after ${formatDuration(timeoutMs)}`}),
      timeoutMs,
    )
    socket.on('connect', () => {
      connected = true
    })
    socket.on('data', (chunk: string) => {
      buffer += chunk
      let newline = buffer.indexOf('\n')
      while (newline !== -1) {
        const line = buffer.slice(0, newline).replace(/\r$/, '')
        buffer = buffer.slice(newline + 1)
        if (line.startsWith('SSH-')) {
          finish({banner: line})
          return
        }
        newline = buffer.indexOf('\n')
      }
      if (buffer.length > MAX_PRE_BANNER_BYTES) finish({error: 'the server did not identify as SSH'})
    })
    socket.on('error', (error: NodeJS.ErrnoException) => finish({error: error.code ?? error.message}))
    socket.on('close', () => finish({error: connected ? 'connection closed before the SSH banner' : 'connection closed'}))
  })
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
