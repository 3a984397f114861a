/**
 * Job logs in CloudWatch Logs: one stream per job in a log group, so a log outlives its host.
 *
 * `@aws-sdk/client-cloudwatch-logs` is only loaded with `await import(...)` inside the functions
 * that call AWS; planBatches and logTextToEvents are pure and load nothing.
 *
 * Limits (PutLogEvents API reference, "The batch of events must satisfy the following constraints",
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html,
 * and the same text in the SDK's PutLogEventsCommand docs):
 *   - at most 10,000 events per call;
 *   - at most 1,048,576 bytes per call, counted as the UTF-8 bytes of every message + 26 per event;
 *   - events in chronological order; one call may not span more than 24 hours;
 *   - event size: the API reference said 256 KB for years; since April 2025 it says 1 MB
 *     (AWS "What's new", 2025-04: CloudWatch Logs increases maximum log event size to 1 MB).
 *     orch keeps 256 KiB, counted like the batch size (message bytes + 26 ≤ 262,144,
 *     so messages of at most 262,118 bytes): valid under both the old and the new quota, so it also
 *     works in partitions or accounts where the larger limit has not arrived. It is one option
 *     (limits.maxEventBytes) to raise. Longer lines are split on UTF-8 character boundaries into
 *     consecutive events.
 *   - a message must not be empty (InputLogEvent.message has a minimum length of 1), so an empty
 *     line is sent as a single space.
 * Sequence tokens are ignored by PutLogEvents nowadays, so none are sent.
 */
import type {CloudWatchLogsClient, InputLogEvent} from '@aws-sdk/client-cloudwatch-logs'

import {OrchError} from '../errors/errors.js'
import {awsErrorName, awsFailure, withCause} from './aws-errors.js'
import {SDK_CLIENT_RETRY, retryingClient, withRetry, type RetryOptions} from './retry.js'
import {silenceSdkNodeVersionWarning} from './util.js'

export interface LogEvent {
  /** Milliseconds since the epoch. */
  timestamp: number
  message: string
}

export interface BatchLimits {
  maxEventsPerBatch: number
  /** Per call: UTF-8 bytes of all messages + eventOverheadBytes per event. */
  maxBatchBytes: number
  eventOverheadBytes: number
  /** Per event, counted like the batch size (message bytes + eventOverheadBytes). */
  maxEventBytes: number
  /** A batch's last timestamp minus its first stays below this. */
  maxBatchSpanMs: number
}

export const PUT_LOG_EVENTS_LIMITS: Readonly<BatchLimits> = Object.freeze({
  maxEventsPerBatch: 10_000,
  maxBatchBytes: 1_048_576,
  eventOverheadBytes: 26,
  maxEventBytes: 262_144,
  maxBatchSpanMs: 24 * 60 * 60 * 1000,
})

/** What an empty line is sent as (CloudWatch refuses empty messages). */
export const EMPTY_LINE_MESSAGE = ' '

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8')

function resolveLimits(limits: Partial<BatchLimits> = {}): BatchLimits & {maxMessageBytes: number} {
  const resolved = {...PUT_LOG_EVENTS_LIMITS, ...limits}
  const maxMessageBytes = Math.min(resolved.maxEventBytes, resolved.maxBatchBytes) - resolved.eventOverheadBytes
  if (maxMessageBytes < 4) throw new OrchError('internal', `CloudWatch event size limit too small (${resolved.maxEventBytes} bytes)`)
  return {...resolved, maxMessageBytes}
}

/**
 * Split text into pieces of at most maxBytes UTF-8 bytes each, never inside a character
 * (so every piece is valid UTF-8 and the pieces concatenate back to the input).
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (maxBytes < 4) throw new OrchError('internal', `splitUtf8: maxBytes must be at least 4, got ${maxBytes}`)
  // Fast path: a UTF-16 code unit never takes more than 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return [text]
  const buffer = Buffer.from(text, 'utf8')
  if (buffer.length <= maxBytes) return [text]
  const pieces: string[] = []
  let start = 0
  while (start < buffer.length) {
    let end = Math.min(start + maxBytes, buffer.length)
    // Back off while the byte at `end` continues a character (10xxxxxx): cut before its lead byte.
    if (end < buffer.length) while (end > start && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--
    pieces.push(buffer.toString('utf8', start, end))
    start = end
  }
  return pieces
}

function normalizeMessage(message: string): string {
  return message === '' ? EMPTY_LINE_MESSAGE : message
}

/**
 * Split events into PutLogEvents batches that honour every limit: events sorted by timestamp
 * (stable: equal timestamps keep their order), over-long messages split into consecutive events
 * with the same timestamp, empty messages replaced by a space, at most maxEventsPerBatch events
 * and maxBatchBytes bytes per batch, and a new batch whenever the span would reach 24 hours.
 */
export function planBatches(lines: Iterable<LogEvent>, limits: Partial<BatchLimits> = {}): LogEvent[][] {
  const resolved = resolveLimits(limits)
  const events: LogEvent[] = []
  let sorted = true
  let previous = Number.NEGATIVE_INFINITY
  for (const line of lines) {
    if (!Number.isFinite(line.timestamp) || line.timestamp < 0) {
      throw new OrchError('internal', `log event with an invalid timestamp: ${String(line.timestamp)}`)
    }
    const timestamp = Math.floor(line.timestamp)
    if (timestamp < previous) sorted = false
    previous = timestamp
    for (const piece of splitUtf8(normalizeMessage(line.message), resolved.maxMessageBytes)) events.push({timestamp, message: piece})
  }
  if (!sorted) events.sort((a, b) => a.timestamp - b.timestamp)

  const batches: LogEvent[][] = []
  let batch: LogEvent[] = []
  let batchBytes = 0
  let batchStart = 0
  for (const event of events) {
    const size = utf8Bytes(event.message) + resolved.eventOverheadBytes
    const full =
      batch.length >= resolved.maxEventsPerBatch ||
      batchBytes + size > resolved.maxBatchBytes ||
      event.timestamp - batchStart >= resolved.maxBatchSpanMs
    if (batch.length > 0 && full) {
      batches.push(batch)
      batch = []
      batchBytes = 0
    }
    if (batch.length === 0) batchStart = event.timestamp
    batch.push(event)
    batchBytes += size
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

export interface LogTextOptions {
  /** When the job started (its log directory's start time); the first event's timestamp. */
  startTime: Date | number
  /**
   * True when the log is finished (the job has ended): an unterminated last line is then final and
   * shipped. Otherwise (default) it may still be growing and is held back until its newline arrives,
   * so a later re-ship sees the same lines and does not send a half line twice.
   */
  complete?: boolean
  limits?: Partial<BatchLimits>
}

/**
 * Turn a run.log's text into events. run.log lines carry no timestamps, so event i (after splitting
 * over-long lines) gets startTime + i milliseconds: strictly increasing, so CloudWatch returns the
 * lines in exactly their order (it sorts by timestamp and documents no order for equal ones), and
 * deterministic, so re-shipping the same log yields the same events (that is what dedupe relies on).
 * A trailing "\r" (CRLF endings) is dropped; empty lines become a single space.
 * Caveat: CloudWatch rejects events older than 14 days or more than 2 hours ahead, so a job that
 * started more than 14 days ago cannot be shipped (shipLog reports them as rejected).
 */
export function logTextToEvents(text: string | Buffer, options: LogTextOptions): LogEvent[] {
  const {maxMessageBytes} = resolveLimits(options.limits)
  const content = typeof text === 'string' ? text : text.toString('utf8')
  if (content === '') return []
  const lines = content.split('\n')
  const last = lines.pop() ?? ''
  if (last !== '' && options.complete) lines.push(last)
  const base = Math.floor(typeof options.startTime === 'number' ? options.startTime : options.startTime.getTime())
  const events: LogEvent[] = []
  for (const rawLine of lines) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    for (const piece of splitUtf8(normalizeMessage(line), maxMessageBytes)) {
      events.push({timestamp: base + events.length, message: piece})
    }
  }
  return events
}

export async function createLogsClient(region?: string): Promise<CloudWatchLogsClient> {
  const {CloudWatchLogsClient} = await import('@aws-sdk/client-cloudwatch-logs')
  silenceSdkNodeVersionWarning()
  return new CloudWatchLogsClient({...SDK_CLIENT_RETRY, ...(region ? {region} : {})})
}

export interface ShipLogOptions {
  group: string
  stream: string
  events: Iterable<LogEvent>
  retry?: RetryOptions
  limits?: Partial<BatchLimits>
  /**
   * How many of these events the caller knows were shipped before (e.g. the totalEvents of the last
   * ShipResult, kept next to the log). Covers CloudWatch's ingestion delay: events sent seconds ago
   * may not be readable yet, and would otherwise be sent again.
   */
  alreadySent?: number
  /** Told after each batch is accepted. */
  onBatch?: (eventsSent: number, eventsToSend: number) => void
}

export interface ShipResult {
  /** Events CloudWatch accepted in this call. */
  eventsSent: number
  batches: number
  /** Events skipped because the stream already held them. */
  skipped: number
  /** Events CloudWatch refused as too old (over 14 days or the group's retention) or too new. */
  rejected: number
  /** Events the log amounts to after splitting (= skipped + eventsSent + rejected once shipped). */
  totalEvents: number
  createdGroup: boolean
  createdStream: boolean
}

/**
 * Ship events to a stream, creating the group and stream when missing, without duplicating on
 * re-ship. Dedupe scheme: the events are deterministic (see logTextToEvents), so the stream holds a
 * prefix of them (or a subsequence, if CloudWatch rejected some). shipLog reads the stream's last
 * event (GetLogEvents, startFromHead false, limit 1); when it equals exactly one planned event, all
 * events up to it are done. Otherwise it reads the stream from the head and matches its events in
 * order against the planned ones; an event that is not ours means the stream belongs to another log
 * (e.g. an earlier job with the same name) and is refused. A new stream needs no read.
 */
export async function shipLog(client: CloudWatchLogsClient, options: ShipLogOptions): Promise<ShipResult> {
  const {PutLogEventsCommand} = await import('@aws-sdk/client-cloudwatch-logs')
  const {group, stream, retry} = options
  const planned = planBatches(options.events, options.limits).flat()
  const {createdGroup, createdStream} = await ensureStream(client, group, stream, retry)

  let skipped = createdStream || planned.length === 0 ? 0 : await eventsAlreadyShipped(client, group, stream, planned, retry)
  // A stream we just created holds nothing, whatever the caller's record says (it was deleted).
  if (!createdStream) skipped = Math.max(skipped, Math.min(planned.length, Math.max(0, Math.floor(options.alreadySent ?? 0))))
  const remaining = planned.slice(skipped)
  const batches = planBatches(remaining, options.limits)

  let eventsSent = 0
  let rejected = 0
  for (const batch of batches) {
    const logEvents: InputLogEvent[] = batch.map((event) => ({timestamp: event.timestamp, message: event.message}))
    let output
    try {
      output = await withRetry(
        () => client.send(new PutLogEventsCommand({logGroupName: group, logStreamName: stream, logEvents})),
        retry,
      )
    } catch (error) {
      const failure = awsFailure(error, {action: `PutLogEvents to ${group} ${stream}`, permission: 'logs:PutLogEvents'})
      if (eventsSent > 0) failure.message += ` after ${eventsSent} of ${remaining.length} events were sent (re-ship to send the rest)`
      throw failure
    }
    const info = output.rejectedLogEventsInfo
    if (info) {
      const tooOld = Math.max(info.tooOldLogEventEndIndex ?? 0, info.expiredLogEventEndIndex ?? 0)
      const tooNew = info.tooNewLogEventStartIndex === undefined ? 0 : batch.length - info.tooNewLogEventStartIndex
      rejected += Math.min(batch.length, Math.max(0, tooOld) + Math.max(0, tooNew))
    }
    eventsSent += batch.length
    options.onBatch?.(eventsSent, remaining.length)
  }
  return {eventsSent: eventsSent - rejected, batches: batches.length, skipped, rejected, totalEvents: planned.length, createdGroup, createdStream}
}

async function ensureStream(
  client: CloudWatchLogsClient,
  group: string,
  stream: string,
  retry: RetryOptions | undefined,
): Promise<{createdGroup: boolean; createdStream: boolean}> {
  const {CreateLogGroupCommand, CreateLogStreamCommand} = await import('@aws-sdk/client-cloudwatch-logs')
  const createStream = async (): Promise<boolean> => {
    try {
      await withRetry(() => client.send(new CreateLogStreamCommand({logGroupName: group, logStreamName: stream})), retry)
      return true
    } catch (error) {
      if (awsErrorName(error) === 'ResourceAlreadyExistsException') return false
      throw error
    }
  }
  // Usually the group exists: try the stream first, and create the group only when AWS says it is missing.
  try {
    return {createdGroup: false, createdStream: await createStream()}
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceNotFoundException') {
      throw awsFailure(error, {action: `CreateLogStream ${group} ${stream}`, permission: 'logs:CreateLogStream'})
    }
  }
  let createdGroup = false
  try {
    await withRetry(() => client.send(new CreateLogGroupCommand({logGroupName: group})), retry)
    createdGroup = true
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceAlreadyExistsException') {
      throw awsFailure(error, {action: `CreateLogGroup ${group}`, permission: 'logs:CreateLogGroup'})
    }
  }
  try {
    return {createdGroup, createdStream: await createStream()}
  } catch (error) {
    throw awsFailure(error, {action: `CreateLogStream ${group} ${stream}`, permission: 'logs:CreateLogStream'})
  }
}

const sameEvent = (a: LogEvent, b: LogEvent): boolean => a.timestamp === b.timestamp && a.message === b.message

/** How many planned events (a prefix, allowing holes for rejected ones) the stream already holds. */
async function eventsAlreadyShipped(
  client: CloudWatchLogsClient,
  group: string,
  stream: string,
  planned: LogEvent[],
  retry: RetryOptions | undefined,
): Promise<number> {
  const {GetLogEventsCommand} = await import('@aws-sdk/client-cloudwatch-logs')
  let output
  try {
    output = await withRetry(
      () => client.send(new GetLogEventsCommand({logGroupName: group, logStreamName: stream, startFromHead: false, limit: 1})),
      retry,
    )
  } catch (error) {
    throw awsFailure(error, {action: `GetLogEvents for ${group} ${stream}`, permission: 'logs:GetLogEvents'})
  }
  const lastEvent = output.events?.at(-1)
  if (!lastEvent) return 0
  const last: LogEvent = {timestamp: lastEvent.timestamp ?? 0, message: lastEvent.message ?? ''}
  let match = -1
  let matches = 0
  for (let index = 0; index < planned.length; index++) {
    if (sameEvent(planned[index] as LogEvent, last)) {
      match = index
      matches++
    }
  }
  if (matches === 1) return match + 1

  // Ambiguous or unknown last event: walk the whole stream in order.
  let position = 0
  for await (const existing of readLogEvents(client, {group, stream, retry})) {
    while (position < planned.length && !sameEvent(planned[position] as LogEvent, existing)) position++
    if (position >= planned.length) {
      throw new OrchError(
        'conflict',
        `CloudWatch stream ${stream} in ${group} already holds events that are not from this log`,
        `delete it (aws logs delete-log-stream --log-group-name ${group} --log-stream-name ${stream}) or ship under another stream name`,
      )
    }
    position++
  }
  return position
}

export interface ReadLogOptions {
  group: string
  stream: string
  retry?: RetryOptions
}

/**
 * Every event of a stream, oldest first: GetLogEvents with startFromHead true, following
 * nextForwardToken until it comes back unchanged (the end of the stream), through the SDK's
 * paginator; each page is retried on its own.
 */
export async function* readLogEvents(client: CloudWatchLogsClient, options: ReadLogOptions): AsyncGenerator<LogEvent> {
  const {paginateGetLogEvents} = await import('@aws-sdk/client-cloudwatch-logs')
  const {group, stream} = options
  const pages = paginateGetLogEvents({client: retryingClient(client, options.retry), stopOnSameToken: true}, {logGroupName: group, logStreamName: stream, startFromHead: true})
  try {
    for await (const page of pages) {
      for (const event of page.events ?? []) yield {timestamp: event.timestamp ?? 0, message: event.message ?? ''}
    }
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') {
      throw withCause(
        new OrchError('notFound', `no CloudWatch log stream ${stream} in log group ${group}`, 'ship the job\'s log first, or check ORCH_CLOUDWATCH_GROUP and AWS_REGION'),
        error,
      )
    }
    throw awsFailure(error, {action: `GetLogEvents for ${group} ${stream}`, permission: 'logs:GetLogEvents'})
  }
}

/** The stream's lines (event messages), oldest first; see readLogEvents. */
export async function* readLog(client: CloudWatchLogsClient, options: ReadLogOptions): AsyncGenerator<string> {
  for await (const event of readLogEvents(client, options)) yield event.message
}
