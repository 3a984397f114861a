import {describe, expect, it} from 'vitest'

import type {PullReport} from '../../../src/jobs/pull-results.js'
import {formatDiffPulled, formatPulled} from '../../../src/output/format-pull.js'

const report = (extra: Partial<PullReport> = {}): PullReport => ({
  name: 'train-1',
  to: '/home/me/project/orch-results/train-1',
  log: {files: 3, bytes: 2048},
  files: {files: 0, bytes: 0},
  patterns: [],
  missing: [],
  skipped: [],
  ...extra,
})

describe('formatPulled', () => {
  it('inside the current directory: a relative path; the log set only when no patterns were asked for', () => {
    expect(formatPulled(report(), '/home/me/project')).toBe('pulled train-1 into orch-results/train-1/\n  log/    3 files, 2 KB')
  })

  it('outside it: the absolute path; the files set with its patterns, one file in the singular', () => {
    const text = formatPulled(report({files: {files: 1, bytes: 5 * 1024 ** 2}, patterns: ['out/*.csv', 'model.bin']}), '/elsewhere')
    expect(text).toBe('pulled train-1 into /home/me/project/orch-results/train-1/\n  log/    3 files, 2 KB\n  files/  1 file, 5 MB (out/*.csv model.bin)')
  })

  it('into the current directory itself: "."', () => {
    expect(formatPulled(report({to: '/tmp/x'}), '/tmp/x')).toBe('pulled train-1 into ./\n  log/    3 files, 2 KB')
  })
})

describe('formatDiffPulled', () => {
  it('applied: files, the base shortened to 12, and the work tree', () => {
    expect(formatDiffPulled({name: 'j', applied: true, files: 2, base: '0123456789abcdef0123', workTree: '/w'})).toBe('applied the changes of j (2 files, from 0123456789ab) to /w; review them with git diff')
    expect(formatDiffPulled({name: 'j', applied: true, files: 1, base: null, workTree: '/w'})).toBe('applied the changes of j (1 file) to /w; review them with git diff')
  })

  it('nothing to apply', () => {
    expect(formatDiffPulled({name: 'j', applied: false, files: 0, base: null, workTree: '/w'})).toBe('j: no uncommitted changes on the host; nothing to apply')
  })
})
