import {describe, expect, it} from 'vitest'

import {epochToIso, parseJobList} from '../../../src/jobs/job-record.js'

describe('epochToIso', () => {
  it('writes what Date#toISOString writes, for every kind of second', () => {
    const samples = [0, 1, 59, 60, 3599, 3600, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 1_796_237_546, 4_102_444_799, 253_402_300_799, 253_402_300_800, -1, -86_401]
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4_102_444_800))
    for (const seconds of samples) expect(epochToIso(String(seconds)), String(seconds)).toBe(new Date(seconds * 1000).toISOString())
  })

  it('is null for what is not a whole number of seconds', () => {
    for (const text of [null, '', '1.5', 'abc', 'NaN']) expect(epochToIso(text)).toBeNull()
  })
})

describe('JobRecordStream', () => {
  it('parses records split anywhere, even inside a multi-byte character, as parseJobList does', async () => {
    const {JobRecordStream, parseJobList} = await import('../../../src/jobs/job-record.js')
    const site = {target: 'cloud' as const, label: 'h', logPath: (name: string) => `/l/${name}/run.log`}
    const meta = (name: string, command: string) => JSON.stringify({name, command, target: 'cloud', host: 'h', createdAt: '2026-12-01T00:00:00.000Z', cwd: null, envNames: []})
    const output = [
      `J\ta\tDONE\t0\t-\t1796237546\t1796237550\t1\t-\t-\torch\t1796237546\ttmux\t-\t-\t${meta('a', 'echo héllo ✓ 日本')}`,
      'noise from a login shell',
      `J\tb\tFAILED\t-\tvanished\t1796237500\t-\t1\t-\t-\torch\t1796237500\tslurm\t42\tnode7\t${meta('b', 'printf "tab\\there"')}`,
      `J\tc\tRUNNING\t-\t-\t1796237600\t-\t1\t-\t4242\tmanual\t1796237600\ttmux\t-\t-\t-`,
    ].join('\n')
    const bytes = Buffer.from(output)
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const stream = new JobRecordStream(site)
      stream.push(bytes.subarray(0, cut))
      stream.push(bytes.subarray(cut))
      expect(stream.end().sort((x, y) => x.name.localeCompare(y.name))).toEqual(parseJobList(output, site).sort((x, y) => x.name.localeCompare(y.name)))
    }
    expect(parseJobList(output, site).map((job) => job.command)).toEqual(['', 'echo héllo ✓ 日本', 'printf "tab\\there"'])
  })
})

describe('job list parsing', () => {
  const site = {target: 'cloud' as const, label: 'u@h', logPath: (name: string) => `~/logs/${name}/run.log`}
  const meta = (name: string, createdAt: string) => JSON.stringify({name, command: 'echo a:b\tc', target: 'cloud', host: 'u@h', createdAt, cwd: null, envNames: []})
  const record = (...fields: string[]) => ['J', ...fields].join('\t')

  it('reads the host records of many jobs, newest first, with queue positions, attempts and reasons', () => {
    const output = [
      record('a', 'DONE', '0', '-', '1767225600', '1767225660', '2', '-', '-', 'orch', '1767225599', 'tmux', '-', '-', meta('a', '2026-01-01T00:00:00Z')),
      record('b', 'QUEUED', '-', '-', '-', '-', '0', '1', '77', 'orch', '-', 'tmux', '-', '-', meta('b', '2026-01-02T00:00:00Z')),
      record('c', 'FAILED', '-', 'vanished', '1767225500', '-', '1', '-', '-', 'orch', '-', 'tmux', '-', '-', meta('c', '2025-12-31T00:00:00Z')),
      record('by-hand', 'DONE', '0', '-', '-', '1767000000', '-', '-', '-', 'manual', '1767000000', 'tmux', '-', '-', '-'),
      record('bad.name', 'DONE', '0', '-', '-', '-', '0', '-', '-', 'orch', '-', 'tmux', '-', '-', meta('bad.name', '2026-01-03T00:00:00Z')),
      record('broken-meta', 'RUNNING', '-', '-', '1767225700', '-', '1', '-', '12', 'orch', '-', 'tmux', '-', '-', '{"name":"broken-meta","command":"a\\'),
      'a stray line from a login shell',
    ].join('\n')
    const jobs = parseJobList(output, site)
    expect(jobs.map((job) => [job.name, job.state, job.exitCode, job.reason, job.attempts, job.queuePosition])).toEqual([
      ['b', 'QUEUED', null, null, 0, 1],
      ['broken-meta', 'RUNNING', null, null, 1, null],
      ['a', 'DONE', 0, null, 2, null],
      ['c', 'FAILED', null, 'vanished', 1, null],
      ['by-hand', 'DONE', 0, null, 0, null],
    ])
    expect(jobs.find((job) => job.name === 'a')).toMatchObject({command: 'echo a:b\tc', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z', logPath: '~/logs/a/run.log', kind: 'orch'})
    expect(jobs.find((job) => job.name === 'by-hand')).toMatchObject({command: '', host: 'u@h', kind: 'manual', createdAt: '2025-12-29T09:20:00.000Z'})
    expect(jobs.find((job) => job.name === 'c')).toMatchObject({state: 'FAILED', exitCode: null, reason: 'vanished', scheduler: 'tmux', schedulerJobId: null, node: null})
  })

  it('reads a Slurm job: its scheduler, Slurm job id, node and Slurm\'s reason', () => {
    const output = [
      record('s', 'QUEUED', '-', 'Resources', '-', '-', '0', '-', '-', 'orch', '1767225599', 'slurm', '1234', '-', meta('s', '2026-01-01T00:00:00Z')),
      record('t', 'FAILED', '143', 'TIMEOUT', '1767225600', '1767225700', '1', '-', '-', 'orch', '1767225599', 'slurm', '1235', 'gpu-node-3', meta('t', '2026-01-01T00:00:00Z')),
    ].join('\n')
    const jobs = parseJobList(output, site)
    expect(jobs.find((job) => job.name === 's')).toMatchObject({state: 'QUEUED', reason: 'Resources', scheduler: 'slurm', schedulerJobId: '1234', node: null, queuePosition: null})
    expect(jobs.find((job) => job.name === 't')).toMatchObject({state: 'FAILED', exitCode: 143, reason: 'TIMEOUT', scheduler: 'slurm', schedulerJobId: '1235', node: 'gpu-node-3', command: 'echo a:b\tc'})
    expect(parseJobList(output, {...site, target: 'local'}).map((job) => job.scheduler)).toEqual(['slurm', 'slurm'])
  })
})
