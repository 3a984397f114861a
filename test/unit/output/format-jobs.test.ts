import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {JobEntry} from '../../../src/jobs/job-record.js'
import {formatList, formatStatus, table} from '../../../src/output/format-jobs.js'
import {style, useColor} from '../../../src/output/style.js'

const NOW = new Date('2026-02-16T15:00:00.000Z')

const job = (extra: Partial<JobEntry> = {}): JobEntry => ({
  name: 'train-1',
  state: 'DONE',
  target: 'cloud',
  host: 'ubuntu@203.0.113.7',
  command: 'python train.py',
  startedAt: '2026-02-16T14:30:00.000Z',
  endedAt: '2026-02-16T14:45:00.000Z',
  exitCode: 0,
  reason: null,
  logPath: '~/logs/train-1/run.log',
  attempts: 1,
  queuePosition: null,
  status: {state: 'DONE', exitCode: 0},
  createdAt: '2026-02-16T14:29:59.000Z',
  kind: 'orch',
  ...extra,
}) as JobEntry

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(NOW)
  useColor(false)
})

afterEach(() => {
  vi.useRealTimers()
  useColor(false)
})

describe('table', () => {
  it('pads every column but the last to its widest cell, two spaces apart, no trailing blanks', () => {
    expect(table(['A', 'BB', 'C'], [['xxx', 'y', 'last one'], ['', 'yyyy', '']])).toBe(['A    BB    C', 'xxx  y     last one', '     yyyy'].join('\n'))
  })

  it('wide characters take two columns, combining accents none: the columns line up on a terminal', () => {
    expect(table(['NAME', 'COMMAND'], [['日本', 'x'], ['e\u0301e\u0301', 'y'], ['🚀🚀🚀', 'z']])).toBe(['NAME    COMMAND', '日本    x', 'e\u0301e\u0301      y', '🚀🚀🚀  z'].join('\n'))
  })

  it('colour on: escape codes do not count towards a width', () => {
    useColor(true)
    const text = table(['NAME', 'STATE'], [[style().red('ab'), 'x'], ['abcdef', 'y']])
    const plain = text.replace(/\u001B\[[0-9;]*m/g, '').split('\n')
    expect(plain).toEqual(['NAME    STATE', 'ab      x', 'abcdef  y'])
    expect(text.split('\n')[0]).toBe('\u001B[1mNAME    STATE\u001B[22m')
  })
})

describe('formatList', () => {
  it('no jobs: says how to start one', () => expect(formatList([])).toBe('no jobs yet (start one with orch run NAME -- COMMAND)'))

  it('colour off: one row per job, with null fields as "-" and a running job\'s duration as "running"', () => {
    const rows = formatList([
      job(),
      job({name: 'q', state: 'QUEUED', status: {state: 'QUEUED'}, startedAt: null, endedAt: null, exitCode: null, command: 'make'}),
      job({name: 'r', state: 'RUNNING', status: {state: 'RUNNING'}, endedAt: null, exitCode: null, target: 'local', host: 'local', command: 'sleep 60'}),
      job({name: 'f', state: 'FAILED', status: {state: 'FAILED', exitCode: 2, vanished: false}, exitCode: 2, command: 'false'}),
    ]).split('\n')
    expect(rows).toEqual([
      'NAME     STATE    EXIT  STARTED         DURATION    WHERE               COMMAND',
      'train-1  DONE     0     30 minutes ago  15 minutes  ubuntu@203.0.113.7  python train.py',
      'q        QUEUED   -     -               -           ubuntu@203.0.113.7  make',
      'r        RUNNING  -     30 minutes ago  running     local               sleep 60',
      'f        FAILED   2     30 minutes ago  15 minutes  ubuntu@203.0.113.7  false',
    ])
  })

  it('a job started again shows its restarts after its state, as pm2 ls does', () => {
    const rows = formatList([job({name: 'web', state: 'RUNNING', status: {state: 'RUNNING'}, endedAt: null, exitCode: null, restarts: 3, command: 'node server.js'})]).split('\n')
    expect(rows[1]).toBe('web   RUNNING ↻3  -     30 minutes ago  running   ubuntu@203.0.113.7  node server.js')
    expect(formatStatus([job({name: 'web', state: 'RUNNING', status: {state: 'RUNNING'}, endedAt: null, exitCode: null, restarts: 3})], NOW).split('\n')[1]).toMatch(/^web\s+RUNNING ↻3\s/)
  })

  it('a long name widens its column; a long or multi-line command is cut to one line of 50', () => {
    const long = 'a'.repeat(64)
    const rows = formatList([job({name: long, command: `echo one\n  echo two\n${'x'.repeat(80)}`}), job({name: 'b'})]).split('\n')
    expect(rows[1]!.startsWith(`${long}  DONE`)).toBe(true)
    expect(rows[2]!.startsWith(`b${' '.repeat(63)}  DONE`)).toBe(true)
    const command = rows[1]!.slice(rows[1]!.indexOf('echo one'))
    expect(command).toBe(`echo one ⏎ echo two ⏎ ${'x'.repeat(27)}…`)
    expect(command).toHaveLength(50)
  })

  it('unicode in a command (the last column) passes through unpadded and uncut when short', () => {
    const rows = formatList([job({command: 'echo ünïcødé 日本語 🚀'})]).split('\n')
    expect(rows[1]!.endsWith('ubuntu@203.0.113.7  echo ünïcødé 日本語 🚀')).toBe(true)
  })

  it('colour on: the state is coloured and the columns still line up', () => {
    useColor(true)
    const text = formatList([job(), job({name: 'f', state: 'FAILED', status: {state: 'FAILED', exitCode: 1, vanished: false}, exitCode: 1})])
    expect(text).toContain('\u001B[32mDONE\u001B[39m')
    expect(text).toContain('\u001B[31mFAILED\u001B[39m')
    const plain = text.replace(/\u001B\[[0-9;]*m/g, '')
    useColor(false)
    expect(plain).toBe(formatList([job(), job({name: 'f', state: 'FAILED', status: {state: 'FAILED', exitCode: 1, vanished: false}, exitCode: 1})]))
  })
})

describe('formatStatus', () => {
  it('nothing unfinished', () => expect(formatStatus([], NOW)).toBe('no jobs running, starting or queued'))

  it('colour off: elapsed time, the queue position, and how long a job has waited', () => {
    const rows = formatStatus(
      [
        job({state: 'RUNNING', status: {state: 'RUNNING'}, endedAt: null, exitCode: null}),
        job({name: 'q2', state: 'QUEUED', status: {state: 'QUEUED'}, startedAt: null, endedAt: null, exitCode: null, queuePosition: 2, createdAt: '2026-02-16T14:55:00.000Z'}),
        job({name: 's', state: 'STARTING', status: {state: 'STARTING'}, startedAt: null, endedAt: null, exitCode: null, target: 'local', host: 'local', createdAt: '2026-02-16T14:59:30.000Z'}),
      ],
      NOW,
    ).split('\n')
    expect(rows).toEqual([
      'NAME     STATE      ELAPSED             WHERE               COMMAND',
      'train-1  RUNNING    30 minutes          ubuntu@203.0.113.7  python train.py',
      'q2       QUEUED #2  5 minutes waiting   ubuntu@203.0.113.7  python train.py',
      's        STARTING   30 seconds waiting  local               python train.py',
    ])
  })
})

describe('oneLine', () => {
  it('cuts a long command between characters a reader sees, never inside an emoji or a combined letter', async () => {
    const {oneLine} = await import('../../../src/output/format-jobs.js')
    // An emoji takes two columns of a terminal: 24 of them and the ellipsis fill 49 of the 50.
    const rocket = '🚀'.repeat(60)
    expect(oneLine(rocket)).toBe(`${'🚀'.repeat(24)}…`)
    expect(oneLine(rocket)).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    const family = '👨‍👩‍👧'.repeat(51)
    expect(oneLine(family)).toBe(`${'👨‍👩‍👧'.repeat(24)}…`)
    const accented = 'e\u0301'.repeat(51)
    expect(oneLine(accented)).toBe(`${'e\u0301'.repeat(49)}…`)
    expect(oneLine('日本語'.repeat(20))).toBe(`${'日本語'.repeat(8)}…`)
  })

  it('keeps a command of 50 columns or fewer whole, its lines joined', async () => {
    const {oneLine} = await import('../../../src/output/format-jobs.js')
    expect(oneLine('🚀'.repeat(25))).toBe('🚀'.repeat(25))
    expect(oneLine('e\u0301'.repeat(50))).toBe('e\u0301'.repeat(50))
    expect(oneLine('make\n  test')).toBe('make ⏎ test')
    expect(oneLine('x'.repeat(51))).toBe(`${'x'.repeat(49)}…`)
  })
})

describe('ETA and cost (fake clock: 15:00)', () => {
  const running = (extra: Partial<JobEntry>) => job({state: 'RUNNING', status: {state: 'RUNNING'}, endedAt: null, exitCode: null, ...extra} as Partial<JobEntry>)

  it('status: the estimate and the ETA in words; "over estimate by" once past it; "-" without an estimate; approval in the state', () => {
    const rows = formatStatus(
      [
        // Started 14:30 with 45 min: due 15:15.
        running({name: 'on-time', runtimeEstimateSeconds: 2700, eta: '2026-02-16T15:15:00.000Z'}),
        // Started 14:30 with 20 min: due 14:50, 10 minutes ago.
        running({name: 'late', runtimeEstimateSeconds: 1200, eta: '2026-02-16T14:50:00.000Z'}),
        running({name: 'no-estimate', runtimeEstimateSeconds: null, eta: null}),
        job({name: 'held', state: 'QUEUED', status: {state: 'QUEUED'}, startedAt: null, endedAt: null, exitCode: null, waitingFor: 'approval', runtimeEstimateSeconds: 18_000, eta: null, createdAt: '2026-02-16T14:58:00.000Z'} as Partial<JobEntry>),
      ],
      NOW,
    ).split('\n')
    expect(rows).toEqual([
      'NAME         STATE              ELAPSED            ESTIMATE  ETA                          WHERE               COMMAND',
      'on-time      RUNNING            30 minutes         45m       in 15 minutes                ubuntu@203.0.113.7  python train.py',
      'late         RUNNING            30 minutes         20m       over estimate by 10 minutes  ubuntu@203.0.113.7  python train.py',
      'no-estimate  RUNNING            30 minutes         -         -                            ubuntu@203.0.113.7  python train.py',
      'held         QUEUED (approval)  2 minutes waiting  5h        -                            ubuntu@203.0.113.7  python train.py',
    ])
  })

  it('list: a cost column when some job has a price: final, or so far while it runs; "-" without one', () => {
    const rows = formatList([
      job({cost: {amount: 0.048, currency: 'USD', basis: 'final', hourlyPrice: 0.192}} as Partial<JobEntry>),
      running({name: 'r', cost: {amount: 0.096, currency: 'USD', basis: 'so-far', hourlyPrice: 0.192}} as Partial<JobEntry>),
      job({name: 'unpriced', cost: null} as Partial<JobEntry>),
    ]).split('\n')
    expect(rows).toEqual([
      'NAME      STATE    EXIT  STARTED         DURATION    COST             WHERE               COMMAND',
      'train-1   DONE     0     30 minutes ago  15 minutes  0.05 USD         ubuntu@203.0.113.7  python train.py',
      'r         RUNNING  -     30 minutes ago  running     0.10 USD so far  ubuntu@203.0.113.7  python train.py',
      'unpriced  DONE     0     30 minutes ago  15 minutes  -                ubuntu@203.0.113.7  python train.py',
    ])
  })
})
