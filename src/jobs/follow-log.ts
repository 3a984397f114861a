import {PassThrough} from 'node:stream'
import {TransportError} from '../hosts/host.js'
import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

export interface ReadLogOptions {
  follow: boolean
  tailLines?: number
  sinceSeconds?: number
  /** Receives the log's bytes in order, exactly once each; awaiting applies backpressure. */
  write: (chunk: Buffer) => Promise<void> | void
  /** Told about each reconnection attempt while following. */
  onReconnect?: (attempt: number, delayMs: number, error: Error) => void
  signal?: AbortSignal
  /** How long to keep retrying a dropped connection. */
  reconnectForMs?: number
  sleep?: (ms: number) => Promise<void>
}

export interface ReadLogResult {
  /** N from the final `[EXIT: N]` line, or null when the job has not finished (or vanished). */
  exitCode: number | null
  vanished: boolean
  bytes: number
  /** The job ended and was run with --cloudwatch: the follower should ship its log. */
  shipToCloudWatch: boolean
}

const EXIT_LINE = /\[EXIT: (\d+)\]\n?$/

/**
 * Print a job's log; with follow, stream it until the job writes its status. A dropped connection
 * is re-established with backoff and reading resumes at the byte offset already delivered, so no
 * byte is lost or repeated.
 */
export async function readLog(site: JobSite, name: string, options: ReadLogOptions): Promise<ReadLogResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  let offset = 0
  let tail = Buffer.alloc(0)
  let first = true
  let attempt = 0
  const giveUpAt = () => Date.now() + (options.reconnectForMs ?? 5 * 60_000)
  let deadline = giveUpAt()
  for (;;) {
    try {
      const code = await site.stream(
        controlScript('read-log'),
        [name, String(offset), first && options.tailLines !== undefined ? String(options.tailLines) : '', first && options.sinceSeconds !== undefined ? String(options.sinceSeconds) : '', options.follow ? '1' : '0', options.follow ? '1' : '0'],
        {
          signal: options.signal,
          // Held open while following and never written: its end is how the host side learns
          // that this reader has gone, and stops.
          input: options.follow ? new PassThrough() : undefined,
          onStdout: (chunk) => {
            offset += chunk.length
            // Only the last bytes matter (the [EXIT: N] line); copy no more than those.
            tail = chunk.length >= 64 ? Buffer.from(chunk.subarray(-64)) : Buffer.concat([tail, chunk]).subarray(-64)
            attempt = 0
            return options.write(chunk)
          },
        },
      )
      if (code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
      if (options.signal?.aborted) return {exitCode: null, vanished: false, bytes: offset, shipToCloudWatch: false}
      const match = EXIT_LINE.exec(tail.toString('latin1'))
      if (code === SCRIPT_STATUS.vanished) return {exitCode: null, vanished: true, bytes: offset, shipToCloudWatch: false}
      const ship = code === SCRIPT_STATUS.shipToCloudwatch
      if (code !== 0 && !ship) throw new OrchError('failure', `reading the log of ${name} failed (status ${code})`, 'retry; if it persists, check the host')
      return {exitCode: match ? Number(match[1]) : null, vanished: false, bytes: offset, shipToCloudWatch: ship}
    } catch (error) {
      if (!(error instanceof TransportError) || !options.follow || Date.now() > deadline) {
        if (error instanceof TransportError) throw new OrchError('connection', `lost the connection to ${site.host.label} while reading ${name}: ${error.message}`, `the job keeps running; resume with orch logs -f ${name}`)
        throw error
      }
      // Resume from `offset`; inference flags (--tail, --since) only applied to the first read.
      first = false
      for (;;) {
        attempt += 1
        const delay = Math.min(500 * 2 ** (attempt - 1), 10_000)
        options.onReconnect?.(attempt, delay, error)
        await sleep(delay)
        if (options.signal?.aborted) return {exitCode: null, vanished: false, bytes: offset, shipToCloudWatch: false}
        try {
          await site.host.reconnect()
          deadline = giveUpAt()
          break
        } catch (reconnectError) {
          if (Date.now() > deadline) {
            throw new OrchError('connection', `could not reconnect to ${site.host.label}: ${(reconnectError as Error).message}`, `the job keeps running; resume with orch logs -f ${name}`)
          }
        }
      }
    }
  }
}
