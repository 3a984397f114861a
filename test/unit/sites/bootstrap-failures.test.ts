/** orch host bootstrap's error: every failed step of bootstrap.sh, with why and what to do, in text and --json. */
import {describe, expect, it} from 'vitest'

import {bootstrapFailure, parseBootstrapFailures} from '../../../src/sites/host-lifecycle.js'

const STDERR = [
  'bootstrap.sh: packages: cannot install tmux with apt-get: bob is not root and there is no sudo -- fix: as root on the host run: apt-get install -y tmux',
  'bootstrap.sh: cron line: no crontab command (crontab): the log-retention line was not installed -- fix: as root on the host run: apt-get install -y cron',
  'bootstrap incomplete: see the failed steps above',
].join('\n')

describe('bootstrap failures', () => {
  it('parses one failure per step', () => {
    expect(parseBootstrapFailures(STDERR)).toEqual([
      {step: 'packages', why: 'cannot install tmux with apt-get: bob is not root and there is no sudo', fix: 'as root on the host run: apt-get install -y tmux'},
      {step: 'cron line', why: 'no crontab command (crontab): the log-retention line was not installed', fix: 'as root on the host run: apt-get install -y cron'},
    ])
  })

  it('the error names every step with why (message) and what to do (hint), never "see the errors above"', () => {
    const error = bootstrapFailure('bob@host:22', 1, STDERR)
    expect(error.message).toBe('bootstrap of bob@host:22 incomplete: packages: cannot install tmux with apt-get: bob is not root and there is no sudo; cron line: no crontab command (crontab): the log-retention line was not installed')
    expect(error.hint).toMatch(/^packages: as root on the host run: apt-get install -y tmux; cron line: as root on the host run: apt-get install -y cron; then run orch host bootstrap again/)
    expect(error.toDocument().error).toMatchObject({code: 'hostSetup', message: error.message, hint: error.hint})
    expect(error.toLine()).not.toContain('see the')
  })
})
