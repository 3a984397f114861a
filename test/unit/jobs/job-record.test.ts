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

  it('restarts: the attempts after the first (a service\'s restarts, a batch job\'s retries), and a service\'s reasons', () => {
    const output = [
      record('web', 'RUNNING', '-', 'memory-limit', '1767225600', '-', '4', '-', '12', 'orch', '-', 'tmux', '-', '-', meta('web', '2026-01-01T00:00:00Z')),
      record('storm', 'FAILED', '0', 'restart-storm', '1767225600', '1767225610', '11', '-', '-', 'orch', '-', 'tmux', '-', '-', meta('storm', '2026-01-02T00:00:00Z')),
      record('fresh', 'STARTING', '-', '-', '-', '-', '0', '-', '-', 'orch', '-', 'tmux', '-', '-', meta('fresh', '2026-01-03T00:00:00Z')),
    ].join('\n')
    const jobs = parseJobList(output, site)
    expect(jobs.map((job) => [job.name, job.state, job.exitCode, job.reason, job.restarts])).toEqual([
      ['fresh', 'STARTING', null, null, 0],
      ['web', 'RUNNING', null, 'memory-limit', 3],
      ['storm', 'FAILED', 0, 'restart-storm', 10],
    ])
  })
})

describe('JsonJobList', () => {
  const site = {target: 'cloud' as const, label: 'lab', logPath: (name: string) => `~/logs/${name}/run.log`}
  const line = (name: string, started: string, created: string, command = 'true') =>
    ['J', name, 'DONE', '0', '-', started, started === '-' ? '-' : String(Number(started) + 5), '1', '-', '-', 'orch', created, 'tmux', '-', '-', JSON.stringify({command, host: 'lab'})].join('\t')
  const output = [
    line('b', '1700000100', '1700000090'),
    line('a', '1700000200', '1700000190', 'echo "quoted" ✓'),
    line('same-second-1', '1700000150', '1700000140'),
    line('same-second-2', '1700000150', '1700000140'),
    line('never-started', '-', '1700000300'),
  ].join('\n')

  it('prints the very records listJobs returns, in the same order, as one JSON text each', async () => {
    const {JobRecordStream, JsonJobList, parseJobList} = await import('../../../src/jobs/job-record.js')
    const {jsonDocument} = await import('../../../src/output/json.js')
    const list = new JsonJobList()
    const stream = new JobRecordStream(site, list.add)
    stream.push(Buffer.from(output))
    stream.end()
    const records = parseJobList(output, site)
    expect(list.lines()).toEqual(records.map((record) => JSON.stringify(record)))
    expect(records.map((record) => record.name)).toEqual(['never-started', 'a', 'same-second-1', 'same-second-2', 'b'])
    expect(jsonDocument(list, false)).toBe(jsonDocument(records, false))
    expect(jsonDocument(list, true)).toBe(jsonDocument(records, true))
    expect(JSON.parse(JSON.stringify(list))).toEqual(records)
  })

  it('joins the lists of several sites in site order, as listJobs does for jobs of the same second', async () => {
    const {JobRecordStream, JsonJobList, parseJobList} = await import('../../../src/jobs/job-record.js')
    const local = {...site, target: 'local' as const, label: 'local'}
    const lists = [site, local].map((where) => {
      const list = new JsonJobList()
      const stream = new JobRecordStream(where, list.add)
      stream.push(Buffer.from(output))
      stream.end()
      return list
    })
    const expected = [...parseJobList(output, site), ...parseJobList(output, local)].sort((await import('../../../src/jobs/job-record.js')).newestFirst)
    expect(JsonJobList.joined(lists).lines()).toEqual(expected.map((record) => JSON.stringify(record)))
  })

  it('an empty list prints [] like an empty array', async () => {
    const {JsonJobList} = await import('../../../src/jobs/job-record.js')
    const {jsonDocument} = await import('../../../src/output/json.js')
    expect(jsonDocument(new JsonJobList(), false)).toBe(jsonDocument([], false))
    expect(jsonDocument(new JsonJobList(), true)).toBe(jsonDocument([], true))
  })
})

describe('cost, ETA and what a QUEUED job waits for', () => {
  const NOW = Date.parse('2026-01-01T01:00:00.000Z')
  const site = {target: 'cloud' as const, label: 'u@h', logPath: (name: string) => `~/logs/${name}/run.log`, now: () => NOW}
  // As the host's list prints meta.json (job-lib.sh brief: command, host, createdAt, then the price and estimate).
  const priced = (extra = ',"hourlyPrice":3.6,"currency":"EUR","priceBasis":"ORCH_HOURLY_PRICE","runtimeEstimateSeconds":1800') =>
    `{"command":"make","host":"u@h","createdAt":"2026-01-01T00:00:00.000Z"${extra}}`
  const record = (...fields: string[]) => ['J', ...fields].join('\t')
  const start = 1_767_229_200 // 2026-01-01T01:00:00Z, the clock

  it('finished: duration × the price recorded with it; running: so far, by the clock; the ETA is start + estimate', () => {
    const [done] = parseJobList(record('d', 'DONE', '0', '-', String(start - 3600), String(start - 3600 + 600), '1', '-', '-', 'orch', '-', 'tmux', '-', '-', priced()), site)
    expect(done).toMatchObject({cost: {amount: 0.6, currency: 'EUR', basis: 'final', hourlyPrice: 3.6}, runtimeEstimateSeconds: 1800, eta: '2026-01-01T00:30:00.000Z', waitingFor: null})
    const [running] = parseJobList(record('r', 'RUNNING', '-', '-', String(start - 600), '-', '1', '-', '77', 'orch', '-', 'tmux', '-', '-', priced()), site)
    // 600 s of 3.6 EUR/h so far (the clock is 01:00, it started at 00:50); ETA 00:50 + 30 min.
    expect(running).toMatchObject({cost: {amount: 0.6, basis: 'so-far'}, eta: '2026-01-01T01:20:00.000Z'})
  })

  it('held for approval: QUEUED waitingFor approval (no reason); a queued one waits for a slot; nothing recorded: null cost and ETA', () => {
    const jobs = parseJobList(
      [
        record('held', 'QUEUED', '-', 'approval', '-', '-', '0', '-', '77', 'orch', '-', 'tmux', '-', '-', priced()),
        record('slot', 'QUEUED', '-', '-', '-', '-', '0', '2', '78', 'orch', '-', 'tmux', '-', '-', priced('')),
      ].join('\n'),
      site,
    )
    expect(jobs.find((job) => job.name === 'held')).toMatchObject({state: 'QUEUED', waitingFor: 'approval', reason: null, queuePosition: null, cost: {amount: 0, basis: 'so-far'}, eta: null, runtimeEstimateSeconds: 1800})
    expect(jobs.find((job) => job.name === 'slot')).toMatchObject({state: 'QUEUED', waitingFor: 'slot', queuePosition: 2, cost: null, eta: null, runtimeEstimateSeconds: null})
  })
})
