import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'
import {type JobStateName, UNFINISHED_STATES, isStateName} from './state.js'

export interface LogPageRequest {
  /** Byte offset in run.log to start at (a previous page's nextOffset); ignored with tailLines. */
  fromOffset?: number
  /** Start with the last N lines instead. */
  tailLines?: number
  /** At most this many bytes of log. */
  maxBytes: number
  /** Wait up to this long for output past the offset, or for the job's end (0: answer at once). */
  waitSeconds?: number
  /** Stops waiting (the call was cancelled): the page is not read. */
  signal?: AbortSignal
}

/** One page of a job's log: what an agent reads instead of following it. */
export interface LogPage {
  name: string
  /** The offset this page starts at (where tailLines led, or 0 when the log was rotated under the offset). */
  fromOffset: number
  /** Where the next page starts. */
  nextOffset: number
  /** run.log's size when the page was read. */
  size: number
  text: string
  state: JobStateName
  /** The job has ended and this page reaches the end of its log: nothing more will come. */
  finished: boolean
  /** The job's exit status once it has one ([EXIT: N]), else null. */
  exitCode: number | null
  /** Why a finished job has no exit status (vanished, never-started), else null. */
  reason: string | null
}

/** Read one page of job `name`'s log (one round trip). */
export async function readLogPage(site: JobSite, name: string, request: LogPageRequest): Promise<LogPage> {
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  const code = await site.stream(
    controlScript('log-page'),
    [name, String(request.fromOffset ?? 0), request.tailLines === undefined ? '' : String(request.tailLines), String(request.maxBytes), String(request.waitSeconds ?? 0)],
    {onStdout: (chunk) => void stdout.push(chunk), onStderr: (chunk) => void stderr.push(chunk), signal: request.signal},
  )
  if (request.signal?.aborted) throw new OrchError('failure', `reading the log of ${name} was cancelled`)
  const result = {code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString()}
  if (result.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  const newline = result.stdout.indexOf(0x0a)
  const [from, size, state, exit, reason] = result.stdout.subarray(0, Math.max(newline, 0)).toString().split(' ')
  if (result.code !== 0 || newline < 0 || !isStateName(state ?? '')) {
    throw new OrchError('failure', `reading the log of ${name} on ${site.host.label} failed (status ${result.code}): ${result.stderr.trim() || 'no answer'}`, 'retry; if it persists, check the host')
  }
  const fromOffset = Number(from)
  const total = Number(size)
  const raw = result.stdout.subarray(newline + 1)
  // A page never ends inside a UTF-8 character: the cut bytes start the next page.
  const bytes = fromOffset + raw.length < total ? raw.subarray(0, wholeCharacters(raw)) : raw
  const nextOffset = fromOffset + bytes.length
  const ended = !UNFINISHED_STATES.includes(state as JobStateName)
  return {
    name,
    fromOffset,
    nextOffset,
    size: total,
    text: bytes.toString('utf8'),
    state: state as JobStateName,
    finished: ended && nextOffset >= total,
    exitCode: exit !== undefined && /^\d+$/.test(exit) ? Number(exit) : null,
    reason: reason === undefined || reason === '-' ? null : reason,
  }
}

/** The length of `bytes` without a UTF-8 sequence cut off at its end. */
export function wholeCharacters(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!
    if ((byte & 0xc0) === 0x80) continue // a continuation byte: look further back
    if (byte < 0x80 || byte >= 0xf8) return bytes.length // ASCII, or a byte no character starts with
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2
    return needed > back ? bytes.length - back : bytes.length
  }
  return bytes.length
}
