import {describe, expect, it} from 'vitest'

import {formatCron, formatPrune, formatRollbackPlan} from '../../../src/output/format-maintenance.js'

describe('formatPrune', () => {
  it('one block per place: a summary, then one line per job deleted', () => {
    const text = formatPrune([
      {where: 'cloud', host: 'ubuntu@h', dryRun: false, olderThanDays: 30, deleted: [{name: 'old-a', bytes: 1536}, {name: 'old-b', bytes: 0}], bytesFreed: 1536},
      {where: 'local', host: 'ignored', dryRun: false, olderThanDays: 30, deleted: [], bytesFreed: 0},
    ])
    expect(text).toBe(
      [
        'ubuntu@h: pruned 2 job(s) older than 30 days, freed 1.5KB',
        '  deleted old-a (1.5KB)',
        '  deleted old-b (0B)',
        'local: pruned 0 job(s) older than 30 days, freed 0B',
      ].join('\n'),
    )
  })

  it('--dry-run says what it would do', () => {
    expect(formatPrune([{where: 'local', host: 'local', dryRun: true, olderThanDays: 7, deleted: [{name: 'x', bytes: 5 * 1024 ** 3}], bytesFreed: 5 * 1024 ** 3}])).toBe(
      'local: would prune 1 job(s) older than 7 days, freeing 5GB\n  would delete x (5GB)',
    )
  })

  it('nothing to report is an empty string', () => expect(formatPrune([])).toBe(''))
})

describe('formatCron', () => {
  it('show: the marker and the line, or that none is installed', () => {
    expect(formatCron({host: 'u@h', marker: '# orch-retention', action: 'show', line: '0 3 * * * sh retention.sh # orch-retention', message: ''})).toBe(
      'u@h crontab (# orch-retention):\n  0 3 * * * sh retention.sh # orch-retention',
    )
    expect(formatCron({host: 'u@h', marker: '# orch-retention', action: 'show', line: null, message: ''})).toBe('u@h crontab (# orch-retention):\n  (no line installed)')
  })

  it('install and remove: the message, or the action when there is no message', () => {
    expect(formatCron({host: 'u@h', marker: 'm', action: 'install', line: '0 3 * * * x', message: 'installed'})).toBe('u@h: installed\n  0 3 * * * x')
    expect(formatCron({host: 'u@h', marker: 'm', action: 'remove', line: null, message: ''})).toBe('u@h: remove\n  (no line installed)')
  })
})

describe('formatRollbackPlan', () => {
  it('the commit shortened to 12, every commit dropped and change lost', () => {
    const text = formatRollbackPlan({
      name: 'train-1',
      host: 'ubuntu@h',
      workTree: '/home/ubuntu/work/app',
      commit: '0123456789abcdef0123456789abcdef01234567',
      commitsDiscarded: ['aaaaaaa later work', 'bbbbbbb « ünïcødé » message'],
      uncommitted: [' M src/a.ts', '?? notes.txt'],
    })
    expect(text).toBe(
      [
        'train-1: reset /home/ubuntu/work/app on ubuntu@h to 0123456789ab',
        '  drops 2 later commit(s):',
        '    aaaaaaa later work',
        '    bbbbbbb « ünïcødé » message',
        '  loses 2 uncommitted change(s):',
        '     M src/a.ts',
        '    ?? notes.txt',
      ].join('\n'),
    )
  })

  it('nothing to lose', () => {
    expect(formatRollbackPlan({name: 'j', host: 'h', workTree: '/w', commit: 'abc', commitsDiscarded: [], uncommitted: []})).toBe('j: reset /w on h to abc\n  no later commits\n  no uncommitted changes')
  })
})
