import {afterEach, describe, expect, it} from 'vitest'

import type {HostStatus} from '../../../src/sites/host-lifecycle.js'
import {formatHostStatus} from '../../../src/output/format-host.js'
import {style, useColor} from '../../../src/output/style.js'

afterEach(() => {
  useColor(false)
})

describe('formatHostStatus', () => {
  it('colour off: every line of a running, reachable instance', () => {
    useColor(false)
    const status: HostStatus = {
      instance: {id: 'i-0abc', state: 'running', type: 't3.large', address: '203.0.113.7', launchedAt: '2026-02-16T14:30:00.000Z', uptimeSeconds: 3720},
      host: 'ubuntu@203.0.113.7',
      reachable: true,
      jobs: {running: 2, starting: 1, queued: 3},
      autostop: 'after 30m idle',
    }
    expect(formatHostStatus(status)).toBe(
      [
        'instance  i-0abc (t3.large)',
        'state     running',
        'address   203.0.113.7',
        'uptime    1h2m',
        'ssh       ubuntu@203.0.113.7 (reachable)',
        'jobs      2 running, 1 starting, 3 queued',
        'autostop  after 30m idle',
      ].join('\n'),
    )
  })

  it('null fields: a stopped instance without type, address or uptime, unreachable, no jobs known', () => {
    useColor(false)
    const status: HostStatus = {instance: {id: 'i-0abc', state: 'stopped', type: null, address: null, launchedAt: null, uptimeSeconds: null}, host: 'ubuntu@h', reachable: false, jobs: null, autostop: null}
    expect(formatHostStatus(status)).toBe(['instance  i-0abc (?)', 'state     stopped', 'address   -', 'uptime    -', 'ssh       ubuntu@h (unreachable)'].join('\n'))
  })

  it('no EC2 instance configured: the SSH host alone; autostop off when not set', () => {
    useColor(false)
    expect(formatHostStatus({instance: null, host: 'me@box', reachable: true, jobs: {running: 0, starting: 0, queued: 0}, autostop: null})).toBe(
      ['ssh       me@box (reachable)', 'jobs      0 running, 0 starting, 0 queued', 'autostop  off'].join('\n'),
    )
    expect(formatHostStatus({instance: null, host: null, reachable: false, jobs: null, autostop: null})).toBe('')
  })

  it('colour on: running is green, any other state yellow', () => {
    useColor(true)
    const instance = {id: 'i-1', type: 't3.micro', address: null, launchedAt: null, uptimeSeconds: null}
    expect(formatHostStatus({instance: {...instance, state: 'running'}, host: null, reachable: false, jobs: null, autostop: null})).toContain('state     \u001B[32mrunning\u001B[39m')
    expect(formatHostStatus({instance: {...instance, state: 'pending'}, host: null, reachable: false, jobs: null, autostop: null})).toContain('state     \u001B[33mpending\u001B[39m')
  })
})
