import net from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'

import {waitForSsh} from '../../../src/cloud/ec2.js'
import {OrchError} from '../../../src/errors/errors.js'

const servers: net.Server[] = []
const timers: NodeJS.Timeout[] = []

afterEach(async () => {
  for (const timer of timers.splice(0)) clearTimeout(timer)
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
})

/** A tiny fake sshd: on each connection, send `greeting` after `delayMs`. */
function fakeSshd(greeting: string, delayMs: number): net.Server {
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    const timer = setTimeout(() => {
      if (!socket.destroyed) socket.write(greeting)
    }, delayMs)
    timers.push(timer)
    socket.on('close', () => clearTimeout(timer))
  })
  servers.push(server)
  return server
}

function listen(server: net.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : 0)
    })
  })
}

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const probe = net.createServer()
  const port = await listen(probe)
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

describe('waitForSsh', () => {
  it('resolves with the banner a server sends after a delay', async () => {
    const port = await listen(fakeSshd('SSH-2.0-test\r\n', 300))
    const banner = await waitForSsh('127.0.0.1', port, {timeoutMs: 5000, pollMs: 100})
    expect(banner).toBe('SSH-2.0-test')
  })

  it('skips lines a server sends before its identification line', async () => {
    const port = await listen(fakeSshd('welcome\r\nplease wait\r\nSSH-2.0-OpenSSH_9.6 Ubuntu\r\n', 50))
    expect(await waitForSsh('127.0.0.1', port, {timeoutMs: 5000})).toBe('SSH-2.0-OpenSSH_9.6 Ubuntu')
  })

  it('waits for a server that starts listening late', async () => {
    const port = await freePort()
    const server = fakeSshd('SSH-2.0-late\r\n', 20)
    const started = Date.now()
    const timer = setTimeout(() => void listen(server, port), 700)
    timers.push(timer)
    const attempts: string[] = []
    const banner = await waitForSsh('127.0.0.1', port, {timeoutMs: 10_000, pollMs: 100, onAttempt: (_n, error) => attempts.push(error)})
    expect(banner).toBe('SSH-2.0-late')
    expect(Date.now() - started).toBeGreaterThanOrEqual(600)
    expect(attempts.length).toBeGreaterThan(0)
    expect(attempts[0]).toBe('ECONNREFUSED')
  })

  it('retries when a server drops the connection before the banner (sshd not ready yet)', async () => {
    let connections = 0
    const server = net.createServer((socket) => {
      connections++
      if (connections < 3) socket.destroy()
      else socket.end('SSH-2.0-ready\r\n')
    })
    servers.push(server)
    const port = await listen(server)
    expect(await waitForSsh('127.0.0.1', port, {timeoutMs: 5000, pollMs: 50})).toBe('SSH-2.0-ready')
    expect(connections).toBe(3)
  })

  it('a port where nothing listens: a bounded timeout naming host:port', async () => {
    const port = await freePort()
    const started = Date.now()
    const error = await waitForSsh('127.0.0.1', port, {timeoutMs: 1000, pollMs: 100}).catch((error_: unknown) => error_)
    const elapsed = Date.now() - started
    expect(error).toBeInstanceOf(OrchError)
    const orchError = error as OrchError
    expect(orchError.kind).toBe('connection')
    expect(orchError.message).toBe(`no SSH answer from 127.0.0.1:${port} within 1s (last: ECONNREFUSED)`)
    expect(orchError.hint).toMatch(/security group/)
    expect(elapsed).toBeGreaterThanOrEqual(900)
    expect(elapsed).toBeLessThan(3000)
  })

  it('a server that accepts but never identifies: bounded timeout', async () => {
    const port = await listen(fakeSshd('', 60_000))
    const started = Date.now()
    const error = (await waitForSsh('127.0.0.1', port, {timeoutMs: 800, pollMs: 100}).catch((error_: unknown) => error_)) as OrchError
    expect(error).toBeInstanceOf(OrchError)
    expect(error.message).toMatch(new RegExp(`^no SSH answer from 127\\.0\\.0\\.1:${port} within 800ms \\(last: connected, but no SSH banner`))
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('a server that is not SSH: keeps trying, then times out', async () => {
    const port = await listen(fakeSshd('HTTP/1.1 400 Bad Request\r\n\r\n', 0))
    const error = (await waitForSsh('127.0.0.1', port, {timeoutMs: 600, pollMs: 100}).catch((error_: unknown) => error_)) as OrchError
    expect(error).toBeInstanceOf(OrchError)
    expect(error.kind).toBe('connection')
  })
})
