import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  type GetLogEventsCommandInput,
  type PutLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs'
import {mockClient} from 'aws-sdk-client-mock'
import {beforeEach, describe, expect, it, vi} from 'vitest'

import {
  EMPTY_LINE_MESSAGE,
  PUT_LOG_EVENTS_LIMITS,
  createLogsClient,
  logTextToEvents,
  planBatches,
  readLog,
  shipLog,
  splitUtf8,
  utf8Bytes,
  type LogEvent,
} from '../../../src/cloud/cloudwatch.js'
import {OrchError} from '../../../src/errors/errors.js'

const GROUP = '/orch/jobs'
const STREAM = 'lros-backfill-20260216-1430'
const START = Date.parse('2026-02-16T14:30:00Z')
const HOUR = 3_600_000
const MAX_MESSAGE = 262_144 - 26

const logsMock = mockClient(CloudWatchLogsClient)

function awsError(name: string, status = 400, message = `${name} (mocked)`): CloudWatchLogsServiceException {
  return new CloudWatchLogsServiceException({name, $fault: status >= 500 ? 'server' : 'client', $metadata: {httpStatusCode: status}, message})
}

const smallLines = (count: number, start = START): LogEvent[] => Array.from({length: count}, (_, index) => ({timestamp: start + index, message: `line ${index}`}))

/** Asserts one PutLogEvents batch honours every documented limit. */
function assertValidBatch(events: Array<{timestamp?: number; message?: string}>): void {
  expect(events.length).toBeGreaterThan(0)
  expect(events.length).toBeLessThanOrEqual(10_000)
  let bytes = 0
  let previous = Number.NEGATIVE_INFINITY
  for (const event of events) {
    const message = event.message ?? ''
    const size = utf8Bytes(message)
    expect(size).toBeGreaterThanOrEqual(1)
    expect(size + 26).toBeLessThanOrEqual(262_144)
    bytes += size + 26
    expect(event.timestamp).toBeGreaterThanOrEqual(previous)
    previous = event.timestamp ?? 0
  }
  expect(bytes).toBeLessThanOrEqual(1_048_576)
  expect((events.at(-1)?.timestamp ?? 0) - (events[0]?.timestamp ?? 0)).toBeLessThan(24 * HOUR)
}

/**
 * A stateful stand-in for CloudWatch Logs behind aws-sdk-client-mock: groups, streams, events
 * ordered by timestamp, GetLogEvents paging with forward tokens, and the PutLogEvents limits checked.
 * `hidden` simulates ingestion delay: that many newest events are not readable yet.
 */
class FakeCloudWatch {
  readonly groups = new Map<string, Map<string, LogEvent[]>>()
  pageSize = 4
  hidden = 0

  install(): void {
    logsMock.on(CreateLogGroupCommand).callsFake((input: {logGroupName: string}) => {
      if (this.groups.has(input.logGroupName)) throw awsError('ResourceAlreadyExistsException')
      this.groups.set(input.logGroupName, new Map())
      return {}
    })
    logsMock.on(CreateLogStreamCommand).callsFake((input: {logGroupName: string; logStreamName: string}) => {
      const group = this.groups.get(input.logGroupName)
      if (!group) throw awsError('ResourceNotFoundException', 400, 'The specified log group does not exist.')
      if (group.has(input.logStreamName)) throw awsError('ResourceAlreadyExistsException')
      group.set(input.logStreamName, [])
      return {}
    })
    logsMock.on(PutLogEventsCommand).callsFake((input: PutLogEventsCommandInput) => {
      const stream = this.stream(input.logGroupName ?? '', input.logStreamName ?? '')
      assertValidBatch(input.logEvents ?? [])
      for (const event of input.logEvents ?? []) stream.push({timestamp: event.timestamp ?? 0, message: event.message ?? ''})
      stream.sort((a, b) => a.timestamp - b.timestamp)
      return {}
    })
    logsMock.on(GetLogEventsCommand).callsFake((input: GetLogEventsCommandInput) => {
      const all = this.stream(input.logGroupName ?? '', input.logStreamName ?? '')
      const visible = all.slice(0, Math.max(0, all.length - this.hidden))
      const limit = input.limit ?? this.pageSize
      if (!input.startFromHead && !input.nextToken) {
        return {events: visible.slice(-limit), nextForwardToken: `f/${visible.length}`, nextBackwardToken: 'b/0'}
      }
      const from = input.nextToken ? Number(input.nextToken.slice(2)) : 0
      const page = visible.slice(from, from + Math.min(limit, this.pageSize))
      return {events: page, nextForwardToken: `f/${from + page.length}`, nextBackwardToken: `b/${from}`}
    })
  }

  stream(group: string, name: string): LogEvent[] {
    const stream = this.groups.get(group)?.get(name)
    if (!stream) throw awsError('ResourceNotFoundException', 400, 'The specified log stream does not exist.')
    return stream
  }
}

const putInputs = () => logsMock.commandCalls(PutLogEventsCommand).map((call) => call.args[0].input)
const commandNames = () => logsMock.calls().map((call) => (call.args[0] as object).constructor.name)

let client: CloudWatchLogsClient
let fake: FakeCloudWatch
const noWait = {sleep: vi.fn(async (_ms: number) => {}), random: () => 1}

beforeEach(async () => {
  logsMock.reset()
  noWait.sleep.mockClear()
  client = await createLogsClient('eu-central-1')
  fake = new FakeCloudWatch()
  fake.install()
})

async function caught(promise: Promise<unknown>): Promise<OrchError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError)
    return error as OrchError
  }
  throw new Error('expected a rejection')
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

describe('limits', () => {
  it('PutLogEvents limits: 10,000 events, 1,048,576 bytes (+26 per event), 256 KiB per event, 24 h', () => {
    expect(PUT_LOG_EVENTS_LIMITS).toEqual({
      maxEventsPerBatch: 10_000,
      maxBatchBytes: 1_048_576,
      eventOverheadBytes: 26,
      maxEventBytes: 262_144,
      maxBatchSpanMs: 86_400_000,
    })
  })
})

describe('splitUtf8', () => {
  it('leaves short text alone', () => {
    expect(splitUtf8('hello', 100)).toEqual(['hello'])
  })

  it('never cuts inside a character (2, 3 and 4 byte characters)', () => {
    for (const character of ['é', '日', '😀']) {
      const text = `a${character.repeat(50)}`
      for (const max of [4, 5, 6, 7, 10]) {
        const pieces = splitUtf8(text, max)
        expect(pieces.join('')).toBe(text)
        for (const piece of pieces) {
          expect(utf8Bytes(piece)).toBeLessThanOrEqual(max)
          expect(piece).not.toContain('\uFFFD')
        }
      }
    }
  })
})

describe('planBatches', () => {
  it('10,000 small lines fit one batch; 10,001 need two', () => {
    expect(planBatches(smallLines(10_000)).map((batch) => batch.length)).toEqual([10_000])
    const batches = planBatches(smallLines(10_001))
    expect(batches.map((batch) => batch.length)).toEqual([10_000, 1])
    expect(batches[1]).toEqual([{timestamp: START + 10_000, message: 'line 10000'}])
  })

  it('exactly 1,048,576 bytes (messages + 26 each) fit one batch; one byte more needs two', () => {
    // 1024 events of 998 bytes: 1024 × (998 + 26) = 1,048,576.
    const exact = Array.from({length: 1024}, (_, index) => ({timestamp: START + index, message: 'x'.repeat(998)}))
    expect(planBatches(exact).map((batch) => batch.length)).toEqual([1024])
    const over = [...exact.slice(0, 1023), {timestamp: START + 1023, message: 'x'.repeat(999)}]
    const batches = planBatches(over)
    expect(batches.map((batch) => batch.length)).toEqual([1023, 1])
    for (const batch of batches) assertValidBatch(batch)
  })

  it('counts UTF-8 bytes, not characters', () => {
    // 1024 events of 333 "日" (999 bytes) + 26 = 1025 bytes: 1023 fit (1,048,575); counted as characters, all 1024 would.
    const events = Array.from({length: 1024}, (_, index) => ({timestamp: START + index, message: '日'.repeat(333)}))
    const batches = planBatches(events)
    expect(batches.map((batch) => batch.length)).toEqual([1023, 1])
    for (const batch of batches) assertValidBatch(batch)
  })

  it('a message of exactly 262,118 bytes is one event; 262,119 bytes are split in two', () => {
    expect(planBatches([{timestamp: START, message: 'a'.repeat(MAX_MESSAGE)}]).flat()).toHaveLength(1)
    const split = planBatches([{timestamp: START, message: 'a'.repeat(MAX_MESSAGE + 1)}]).flat()
    expect(split.map((event) => event.message.length)).toEqual([MAX_MESSAGE, 1])
    expect(split.every((event) => event.timestamp === START)).toBe(true)
  })

  it('one 1 MiB line: split into 256 KiB events, four of which exactly fill a batch', () => {
    const line = 'z'.repeat(1_048_576)
    const batches = planBatches([{timestamp: START, message: line}])
    expect(batches.map((batch) => batch.map((event) => utf8Bytes(event.message)))).toEqual([[MAX_MESSAGE, MAX_MESSAGE, MAX_MESSAGE, MAX_MESSAGE], [104]])
    expect(batches.flat().map((event) => event.message).join('')).toBe(line)
    for (const batch of batches) assertValidBatch(batch)
  })

  it('lines over 256 KiB with multi-byte characters split on character boundaries, in order', () => {
    const japanese = '日本語のログ'.repeat(20_000) // 360,000 bytes
    const emoji = '😀'.repeat(70_000) // 280,000 bytes
    const events = [
      {timestamp: START, message: 'before'},
      {timestamp: START + 1, message: japanese},
      {timestamp: START + 2, message: emoji},
      {timestamp: START + 3, message: 'after'},
    ]
    const flat = planBatches(events).flat()
    expect(flat[0]).toEqual({timestamp: START, message: 'before'})
    expect(flat.at(-1)).toEqual({timestamp: START + 3, message: 'after'})
    const joined = (timestamp: number) =>
      flat
        .filter((event) => event.timestamp === timestamp)
        .map((event) => event.message)
        .join('')
    expect(joined(START + 1)).toBe(japanese)
    expect(joined(START + 2)).toBe(emoji)
    for (const event of flat) {
      expect(utf8Bytes(event.message)).toBeLessThanOrEqual(MAX_MESSAGE)
      expect(event.message).not.toContain('\uFFFD')
    }
    expect(flat.filter((event) => event.timestamp === START + 1)).toHaveLength(2)
  })

  it('a multi-day log is split so no batch spans 24 hours', () => {
    // One line per hour for three days.
    const events = Array.from({length: 72}, (_, index) => ({timestamp: START + index * HOUR, message: `hour ${index}`}))
    const batches = planBatches(events)
    expect(batches.map((batch) => batch.length)).toEqual([24, 24, 24])
    for (const batch of batches) assertValidBatch(batch)
    // Exactly 24 h apart never share a batch.
    expect(planBatches([{timestamp: START, message: 'a'}, {timestamp: START + 24 * HOUR, message: 'b'}])).toHaveLength(2)
    expect(planBatches([{timestamp: START, message: 'a'}, {timestamp: START + 24 * HOUR - 1, message: 'b'}])).toHaveLength(1)
  })

  it('puts events in chronological order, keeping the order of equal timestamps', () => {
    const batches = planBatches([
      {timestamp: 30, message: 'c'},
      {timestamp: 10, message: 'a1'},
      {timestamp: 20, message: 'b'},
      {timestamp: 10, message: 'a2'},
    ])
    expect(batches.flat().map((event) => event.message)).toEqual(['a1', 'a2', 'b', 'c'])
  })

  it('sends an empty line as a single space', () => {
    expect(planBatches([{timestamp: START, message: ''}]).flat()).toEqual([{timestamp: START, message: EMPTY_LINE_MESSAGE}])
  })

  it('nothing to ship: no batches', () => {
    expect(planBatches([])).toEqual([])
  })

  it('refuses a timestamp that is not a number', () => {
    expect(() => planBatches([{timestamp: Number.NaN, message: 'x'}])).toThrow(OrchError)
  })

  it('the event size limit can be raised (AWS allows 1 MB per event since 2025)', () => {
    const flat = planBatches([{timestamp: START, message: 'q'.repeat(600_000)}], {maxEventBytes: 1_048_576}).flat()
    expect(flat).toHaveLength(1)
  })
})

describe('logTextToEvents', () => {
  it('gives each line start + its index in milliseconds', () => {
    expect(logTextToEvents('one\ntwo\n\nfour\n[EXIT: 0]\n', {startTime: new Date(START)})).toEqual([
      {timestamp: START, message: 'one'},
      {timestamp: START + 1, message: 'two'},
      {timestamp: START + 2, message: ' '},
      {timestamp: START + 3, message: 'four'},
      {timestamp: START + 4, message: '[EXIT: 0]'},
    ])
  })

  it('holds back an unterminated last line unless the log is complete', () => {
    expect(logTextToEvents('done\nhalf a li', {startTime: START}).map((event) => event.message)).toEqual(['done'])
    expect(logTextToEvents('done\nkilled mid-line', {startTime: START, complete: true}).map((event) => event.message)).toEqual(['done', 'killed mid-line'])
  })

  it('drops CR of CRLF endings, keeps other CRs, takes a Buffer', () => {
    const events = logTextToEvents(Buffer.from('dos line\r\nprogress 10%\rprogress 100%\nnon-ASCII: 日本 ✓\n'), {startTime: START})
    expect(events.map((event) => event.message)).toEqual(['dos line', 'progress 10%\rprogress 100%', 'non-ASCII: 日本 ✓'])
  })

  it('an empty log has no events', () => {
    expect(logTextToEvents('', {startTime: START, complete: true})).toEqual([])
  })

  it('splits a long line into consecutive events with consecutive timestamps', () => {
    const events = logTextToEvents(`a\n${'b'.repeat(MAX_MESSAGE * 2 + 5)}\nc\n`, {startTime: START})
    expect(events.map((event) => [event.timestamp - START, event.message.length])).toEqual([
      [0, 1],
      [1, MAX_MESSAGE],
      [2, MAX_MESSAGE],
      [3, 5],
      [4, 1],
    ])
  })
})

describe('shipLog', () => {
  it('a new stream in an existing group: CreateLogStream, then PutLogEvents with the exact events, no read', async () => {
    fake.groups.set(GROUP, new Map())
    const events = logTextToEvents('hello\nworld\n', {startTime: START})
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events})
    expect(result).toEqual({eventsSent: 2, batches: 1, skipped: 0, rejected: 0, totalEvents: 2, createdGroup: false, createdStream: true})
    expect(commandNames()).toEqual(['CreateLogStreamCommand', 'PutLogEventsCommand'])
    expect(logsMock.commandCalls(CreateLogStreamCommand)[0]?.args[0].input).toEqual({logGroupName: GROUP, logStreamName: STREAM})
    expect(putInputs()).toEqual([
      {
        logGroupName: GROUP,
        logStreamName: STREAM,
        logEvents: [
          {timestamp: START, message: 'hello'},
          {timestamp: START + 1, message: 'world'},
        ],
      },
    ])
  })

  it('creates a missing group, then the stream', async () => {
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(3)})
    expect(result.createdGroup).toBe(true)
    expect(result.createdStream).toBe(true)
    expect(commandNames()).toEqual(['CreateLogStreamCommand', 'CreateLogGroupCommand', 'CreateLogStreamCommand', 'PutLogEventsCommand'])
    expect(logsMock.commandCalls(CreateLogGroupCommand)[0]?.args[0].input).toEqual({logGroupName: GROUP})
    expect(fake.stream(GROUP, STREAM)).toEqual(smallLines(3))
  })

  it('a group created meanwhile by someone else (ResourceAlreadyExistsException) is fine', async () => {
    logsMock
      .on(CreateLogStreamCommand)
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolves({})
    logsMock.on(CreateLogGroupCommand).rejects(awsError('ResourceAlreadyExistsException'))
    logsMock.on(PutLogEventsCommand).resolves({})
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(1)})
    expect(result).toMatchObject({eventsSent: 1, createdGroup: false, createdStream: true})
  })

  it('10,001 small lines go in two calls, the second with exactly the last line', async () => {
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(10_001)})
    expect(result).toMatchObject({eventsSent: 10_001, batches: 2, skipped: 0})
    const inputs = putInputs()
    expect(inputs.map((input) => input.logEvents?.length)).toEqual([10_000, 1])
    expect(inputs[1]).toEqual({logGroupName: GROUP, logStreamName: STREAM, logEvents: [{timestamp: START + 10_000, message: 'line 10000'}]})
  })

  it('a 1 MiB line ships as five events in two calls that respect every limit', async () => {
    const line = 'm'.repeat(1_048_576)
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: logTextToEvents(`${line}\n[EXIT: 0]\n`, {startTime: START})})
    expect(result).toMatchObject({eventsSent: 6, batches: 2})
    expect(putInputs().map((input) => input.logEvents?.length)).toEqual([4, 2])
    const lines = await collect(readLog(client, {group: GROUP, stream: STREAM}))
    expect(lines.slice(0, 5).join('')).toBe(line)
    expect(lines[5]).toBe('[EXIT: 0]')
  })

  it('a multi-day log ships in batches of under 24 h', async () => {
    const events = Array.from({length: 100}, (_, index) => ({timestamp: START + index * HOUR, message: `tick ${index}`}))
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events})
    expect(result.batches).toBe(5)
    expect(fake.stream(GROUP, STREAM)).toEqual(events)
  })

  it('re-shipping the same log sends nothing (one GetLogEvents read of the last event)', async () => {
    const events = logTextToEvents('a\nb\nc\n[EXIT: 0]\n', {startTime: START})
    await shipLog(client, {group: GROUP, stream: STREAM, events})
    logsMock.resetHistory()
    const again = await shipLog(client, {group: GROUP, stream: STREAM, events})
    expect(again).toEqual({eventsSent: 0, batches: 0, skipped: 4, rejected: 0, totalEvents: 4, createdGroup: false, createdStream: false})
    expect(commandNames()).toEqual(['CreateLogStreamCommand', 'GetLogEventsCommand'])
    expect(logsMock.commandCalls(GetLogEventsCommand)[0]?.args[0].input).toEqual({logGroupName: GROUP, logStreamName: STREAM, startFromHead: false, limit: 1})
    expect(fake.stream(GROUP, STREAM)).toHaveLength(4)
  })

  it('re-shipping a grown log sends only the new lines, including a line that was half-written before', async () => {
    const first = await shipLog(client, {group: GROUP, stream: STREAM, events: logTextToEvents('start\nstep 1\nstep 2 runn', {startTime: START})})
    expect(first.eventsSent).toBe(2)
    const final = 'start\nstep 1\nstep 2 running\nstep 3\n[EXIT: 0]\n'
    logsMock.resetHistory()
    const second = await shipLog(client, {group: GROUP, stream: STREAM, events: logTextToEvents(final, {startTime: START, complete: true})})
    expect(second).toMatchObject({eventsSent: 3, skipped: 2, totalEvents: 5})
    expect(putInputs()).toEqual([
      {
        logGroupName: GROUP,
        logStreamName: STREAM,
        logEvents: [
          {timestamp: START + 2, message: 'step 2 running'},
          {timestamp: START + 3, message: 'step 3'},
          {timestamp: START + 4, message: '[EXIT: 0]'},
        ],
      },
    ])
    expect(await collect(readLog(client, {group: GROUP, stream: STREAM}))).toEqual(['start', 'step 1', 'step 2 running', 'step 3', '[EXIT: 0]'])
  })

  it('resumes after a shipment that failed part-way (10,001 lines, first batch landed)', async () => {
    logsMock
      .on(PutLogEventsCommand)
      .callsFakeOnce((input: PutLogEventsCommandInput) => {
        fake.stream(GROUP, STREAM).push(...(input.logEvents as LogEvent[]))
        return {}
      })
      .rejectsOnce(awsError('AccessDeniedException', 400))
    const error = await caught(shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(10_001)}))
    expect(error.message).toMatch(/logs:PutLogEvents.*after 10000 of 10001 events were sent/)
    fake.install()
    logsMock.resetHistory()
    const resumed = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(10_001)})
    expect(resumed).toMatchObject({eventsSent: 1, skipped: 10_000})
    expect(putInputs()).toEqual([{logGroupName: GROUP, logStreamName: STREAM, logEvents: [{timestamp: START + 10_000, message: 'line 10000'}]}])
    expect(fake.stream(GROUP, STREAM)).toHaveLength(10_001)
  })

  it('an ambiguous last event falls back to reading the stream from the head, with paging', async () => {
    // Identical events (same timestamp and text) can only come from a caller's own events; three of five landed.
    const same = Array.from({length: 5}, () => ({timestamp: START, message: 'tick'}))
    fake.groups.set(GROUP, new Map([[STREAM, same.slice(0, 3)]]))
    fake.pageSize = 2
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: same})
    expect(result).toMatchObject({eventsSent: 2, skipped: 3})
    const reads = logsMock.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input)
    expect(reads).toEqual([
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: false, limit: 1},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/2'},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/3'},
    ])
    expect(fake.stream(GROUP, STREAM)).toHaveLength(5)
  })

  it('events CloudWatch dropped earlier (too old) do not stop the resume', async () => {
    // Events 0-1 were rejected as too old, 2-3 landed; 4-5 are new.
    const events = smallLines(6)
    fake.groups.set(GROUP, new Map([[STREAM, events.slice(2, 4)]]))
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events})
    expect(result).toMatchObject({eventsSent: 2, skipped: 4})
    expect(putInputs()[0]?.logEvents).toEqual(events.slice(4))
  })

  it('a stream holding another log (e.g. an earlier job with the same name) is refused', async () => {
    fake.groups.set(GROUP, new Map([[STREAM, [{timestamp: START - 86_400_000, message: 'an older job'}]]]))
    const error = await caught(shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(3)}))
    expect(error.kind).toBe('conflict')
    expect(error.message).toBe(`CloudWatch stream ${STREAM} in ${GROUP} already holds events that are not from this log`)
    expect(error.hint).toContain('aws logs delete-log-stream')
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(0)
  })

  it('alreadySent covers events CloudWatch has not made readable yet (ingestion delay)', async () => {
    const events = smallLines(10)
    const first = await shipLog(client, {group: GROUP, stream: STREAM, events})
    fake.hidden = 10
    const again = await shipLog(client, {group: GROUP, stream: STREAM, events, alreadySent: first.totalEvents})
    expect(again).toMatchObject({eventsSent: 0, skipped: 10})
    expect(fake.stream(GROUP, STREAM)).toHaveLength(10)
  })

  it('alreadySent is ignored for a stream that had to be created (it was deleted)', async () => {
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(4), alreadySent: 4})
    expect(result).toMatchObject({eventsSent: 4, skipped: 0})
  })

  it('retries ThrottlingException, ServiceUnavailableException and 5xx with exponential backoff', async () => {
    fake.groups.set(GROUP, new Map([[STREAM, []]]))
    logsMock
      .on(PutLogEventsCommand)
      .rejectsOnce(awsError('ThrottlingException', 400, 'Rate exceeded'))
      .rejectsOnce(awsError('ServiceUnavailableException', 503))
      .rejectsOnce(awsError('InternalFailure', 500))
      .resolves({})
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(2), retry: {...noWait, baseMs: 200}})
    expect(result.eventsSent).toBe(2)
    const inputs = putInputs()
    expect(inputs).toHaveLength(4)
    expect(new Set(inputs.map((input) => JSON.stringify(input))).size).toBe(1)
    expect(noWait.sleep.mock.calls.map(([ms]) => ms)).toEqual([200, 400, 800])
  })

  it('gives up after the retry budget', async () => {
    logsMock.on(PutLogEventsCommand).rejects(awsError('ThrottlingException', 400, 'Rate exceeded'))
    const error = await caught(shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(1), retry: {...noWait, attempts: 4}}))
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(4)
    expect(error.kind).toBe('cloud')
    expect(error.message).toMatch(/kept throttling PutLogEvents/)
  })

  it('does not retry a client error; access denied names the permission', async () => {
    logsMock.on(CreateLogStreamCommand).rejects(awsError('AccessDeniedException', 400, 'User is not authorized'))
    const error = await caught(shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(1), retry: noWait}))
    expect(logsMock.commandCalls(CreateLogStreamCommand)).toHaveLength(1)
    expect(error.message).toContain('logs:CreateLogStream')
  })

  it('counts events CloudWatch rejected as too old or too new', async () => {
    logsMock.on(PutLogEventsCommand).resolves({rejectedLogEventsInfo: {tooOldLogEventEndIndex: 2, tooNewLogEventStartIndex: 4}})
    const result = await shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(5)})
    expect(result).toMatchObject({eventsSent: 2, rejected: 3, totalEvents: 5})
  })

  it('missing credentials: a config error saying how to set them up', async () => {
    const missing = new Error('Could not load credentials from any providers')
    missing.name = 'CredentialsProviderError'
    logsMock.on(CreateLogStreamCommand).rejects(missing)
    const error = await caught(shipLog(client, {group: GROUP, stream: STREAM, events: smallLines(1)}))
    expect(error.kind).toBe('config')
    expect(error.hint).toMatch(/AWS_PROFILE.*aws sso login.*aws configure/)
  })
})

describe('readLog', () => {
  it('pages with nextForwardToken from the head until the token repeats', async () => {
    logsMock.reset()
    logsMock
      .on(GetLogEventsCommand)
      .resolvesOnce({events: [{timestamp: 1, message: 'a'}, {timestamp: 2, message: 'b'}], nextForwardToken: 'f/1'})
      .resolvesOnce({events: [], nextForwardToken: 'f/2'})
      .resolvesOnce({events: [{timestamp: 3, message: 'c'}], nextForwardToken: 'f/3'})
      .resolves({events: [], nextForwardToken: 'f/3'})
    expect(await collect(readLog(client, {group: GROUP, stream: STREAM}))).toEqual(['a', 'b', 'c'])
    expect(logsMock.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input)).toStrictEqual([
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/1'},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/2'},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/3'},
    ])
  })

  it('reads back a shipped log of many pages in order', async () => {
    fake.pageSize = 1000
    const events = logTextToEvents(Array.from({length: 4321}, (_, index) => `row ${index}`).join('\n') + '\n', {startTime: START})
    await shipLog(client, {group: GROUP, stream: STREAM, events})
    const lines = await collect(readLog(client, {group: GROUP, stream: STREAM}))
    expect(lines).toHaveLength(4321)
    expect(lines[0]).toBe('row 0')
    expect(lines[4320]).toBe('row 4320')
  })

  it('retries throttling while reading', async () => {
    logsMock.reset()
    logsMock
      .on(GetLogEventsCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .resolvesOnce({events: [{timestamp: 1, message: 'only'}], nextForwardToken: 'f/1'})
      .resolves({events: [], nextForwardToken: 'f/1'})
    expect(await collect(readLog(client, {group: GROUP, stream: STREAM, retry: noWait}))).toEqual(['only'])
  })

  it('retries a throttled page on its own: the same token is asked for again, nothing is read twice', async () => {
    logsMock.reset()
    logsMock
      .on(GetLogEventsCommand)
      .resolvesOnce({events: [{timestamp: 1, message: 'a'}], nextForwardToken: 'f/1'})
      .rejectsOnce(awsError('ThrottlingException'))
      .resolvesOnce({events: [{timestamp: 2, message: 'b'}], nextForwardToken: 'f/2'})
      .resolves({events: [], nextForwardToken: 'f/2'})
    expect(await collect(readLog(client, {group: GROUP, stream: STREAM, retry: noWait}))).toEqual(['a', 'b'])
    expect(logsMock.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input)).toStrictEqual([
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/1'},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/1'},
      {logGroupName: GROUP, logStreamName: STREAM, startFromHead: true, nextToken: 'f/2'},
    ])
    expect(noWait.sleep).toHaveBeenCalledTimes(1)
  })

  it('the client does no retries of its own (withRetry is the one policy)', async () => {
    expect(await client.config.maxAttempts()).toBe(1)
  })

  it('a missing stream is a not-found error', async () => {
    const error = await caught(collect(readLog(client, {group: GROUP, stream: 'never-shipped'})))
    expect(error.kind).toBe('notFound')
    expect(error.message).toBe(`no CloudWatch log stream never-shipped in log group ${GROUP}`)
  })
})
