import {afterEach, describe, expect, it} from 'vitest'

import type {RunOutcome} from '../../../src/sites/run-job.js'
import {formatApproved, formatHeld, formatStarted, formatStop} from '../../../src/output/format-run.js'
import {style, useColor} from '../../../src/output/style.js'

const outcome = (extra: Partial<RunOutcome> = {}): RunOutcome => ({
  name: 'train-1',
  target: 'cloud',
  host: 'ubuntu@203.0.113.7',
  state: 'RUNNING',
  logPath: '~/logs/train-1/run.log',
  reasons: [
    {code: 'runtime-long', message: 'runtime 15m is over 10m', inferred: false},
    {code: 'memory-unknown', message: 'memory estimate not given', inferred: false},
  ],
  exitCode: null,
  ...extra,
})

afterEach(() => {
  useColor(false)
})

describe('formatStarted', () => {
  it('colour off: a cloud job, not waited for: where, why, the log and how to follow, attach and stop it', () => {
    useColor(false)
    expect(formatStarted(outcome(), false)).toBe(
      [
        'train-1 RUNNING on ubuntu@203.0.113.7 (cloud; runtime 15m is over 10m; memory estimate not given)',
        '  log:     ~/logs/train-1/run.log',
        '  follow:  orch logs -f train-1',
        '  attach:  orch attach train-1',
        '  stop:    orch stop train-1',
      ].join('\n'),
    )
  })

  it('waited for: no follow hint; a local job: the log alone', () => {
    useColor(false)
    expect(formatStarted(outcome({state: 'QUEUED'}), true).split('\n')).toEqual([
      'train-1 QUEUED on ubuntu@203.0.113.7 (cloud; runtime 15m is over 10m; memory estimate not given)',
      '  log:     ~/logs/train-1/run.log',
      '  attach:  orch attach train-1',
      '  stop:    orch stop train-1',
    ])
    const local = outcome({target: 'local', host: 'local', state: 'DONE', logPath: '/home/me/logs/train-1/run.log', reasons: [{code: 'ui-centric', message: 'UI-centric', inferred: false}], exitCode: 0})
    expect(formatStarted(local, true)).toBe('train-1 DONE on local (local; UI-centric)\n  log:     /home/me/logs/train-1/run.log')
  })

  it('colour on: the name bold and the state coloured', () => {
    useColor(true)
    const first = formatStarted(outcome(), false).split('\n')[0]!
    expect(first.startsWith('\u001B[1mtrain-1\u001B[22m \u001B[36mRUNNING\u001B[39m on ')).toBe(true)
  })
})

describe('formatStop', () => {
  it('stopped: the exit status, or "-" when there is none', () => {
    useColor(false)
    expect(formatStop({name: 'j', state: 'STOPPED', exitCode: 143, alreadyFinished: false, host: 'u@h'})).toBe('j STOPPED (exit 143) on u@h')
    expect(formatStop({name: 'j', state: 'STOPPED', exitCode: null, alreadyFinished: false, host: 'local'})).toBe('j STOPPED (exit -) on local')
  })

  it('already finished: nothing to stop, with the state it ended in', () => {
    useColor(false)
    expect(formatStop({name: 'j', state: 'FAILED', exitCode: null, alreadyFinished: true, host: 'u@h'})).toBe('j had already finished (FAILED, exit -); nothing to stop')
    expect(formatStop({name: 'j', state: 'DONE', exitCode: 0, alreadyFinished: true, host: 'u@h'})).toBe('j had already finished (DONE, exit 0); nothing to stop')
  })
})

describe('the approval gate', () => {
  const held = outcome({
    name: 'big',
    state: 'QUEUED',
    waitingFor: 'approval',
    estimatedCost: {amount: 2.5, currency: 'USD', basis: 'ORCH_HOURLY_PRICE', hourlyPrice: 0.5, runtimeEstimateSeconds: 18_000},
    estimatedCostReason: null,
    approval: {why: 'its estimated cost 2.50 USD is over the limit 1.00 USD', approve: 'orch approve big', refuse: 'orch stop big'},
  })

  it('a held job: why it waits, what it would cost, and the two commands that decide', () => {
    useColor(false)
    expect(formatHeld(held).split('\n')).toEqual([
      'big QUEUED on ubuntu@203.0.113.7, waiting for approval: its estimated cost 2.50 USD is over the limit 1.00 USD',
      '  cost:    ~2.50 USD (0.50 USD/h × 5h, ORCH_HOURLY_PRICE)',
      '  approve: orch approve big',
      '  refuse:  orch stop big',
    ])
    expect(formatHeld({...held, estimatedCost: null, estimatedCostReason: 'no runtime estimate: give --runtime (e.g. --runtime 2h)'}).split('\n')[1]).toBe('  cost:    unknown (no runtime estimate: give --runtime (e.g. --runtime 2h))')
  })

  it('a started cloud job shows its estimate under the log line', () => {
    useColor(false)
    expect(formatStarted({...held, state: 'RUNNING', waitingFor: null, approval: null}, false).split('\n')[2]).toBe('  cost:    ~2.50 USD (0.50 USD/h × 5h, ORCH_HOURLY_PRICE)')
  })

  it('approved, or approved before', () => {
    expect(formatApproved({name: 'big', host: 'h', approved: true, alreadyApproved: false})).toBe('big approved on h: it starts as soon as a slot is free (follow it: orch logs -f big)')
    expect(formatApproved({name: 'big', host: 'h', approved: false, alreadyApproved: true})).toBe('big had already been approved on h: it starts as soon as a slot is free (follow it: orch logs -f big)')
  })
})
