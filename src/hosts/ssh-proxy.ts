/**
 * The two indirect ways to a host: a ProxyCommand (a process whose stdin/stdout is the connection)
 * and a ProxyJump hop (a direct-tcpip channel opened from the previous hop's connection).
 */
import {spawn} from 'node:child_process'
import {Duplex} from 'node:stream'
import type {Client} from 'ssh2'

import {OrchError} from '../errors/errors.js'

export interface ProxyProcess {
  socket: Duplex
  /** Why the connection ended early, once the process has exited: status and its last stderr line. */
  exitReport(waitMs?: number): Promise<string | undefined>
  stop(): void
}

/** Runs `command` with /bin/sh as OpenSSH does (`exec COMMAND`); its stdio is the socket. */
export function startProxyCommand(command: string): ProxyProcess {
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  let status: string | undefined
  let spawnError: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal ? `was killed by ${signal}` : `exited with status ${String(code)}`
      resolve()
    })
    child.once('error', (error) => {
      spawnError = error.message
      resolve()
    })
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000)
  })
  child.stdin.on('error', () => {})
  const socket = Duplex.from({readable: child.stdout, writable: child.stdin})
  socket.on('error', () => {})
  return {
    socket,
    async exitReport(waitMs = 1000) {
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, waitMs).unref())])
      if (spawnError) return `could not be started: ${spawnError}`
      if (!status) return undefined
      const last = stderr.split('\n').map((line) => line.trim()).filter(Boolean).pop()
      return last ? `${status}: ${last}` : status
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    },
  }
}

/** A channel from `via` to host:port, used as the next connection's socket. */
export function forwardOut(via: Client, host: string, port: number, hop: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      if (error) {
        const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
        reject(new OrchError('connection', `the ProxyJump hop ${hop} could not reach ${where}: ${error.message}`, `check that ${hop} can connect to ${where} (HostName and Port of the target)`))
      } else resolve(channel)
    })
  })
}
