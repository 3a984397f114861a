import {describe, expect, it} from 'vitest'

import {epochToIso} from '../../../src/jobs/job-record.js'

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
      `J\ta\tDONE\t0\t-\t1796237546\t1796237550\t1\t-\t-\torch\t1796237546\t${meta('a', 'echo héllo ✓ 日本')}`,
      'noise from a login shell',
      `J\tb\tFAILED\t-\tvanished\t1796237500\t-\t1\t-\t-\torch\t1796237500\t${meta('b', 'printf "tab\\there"')}`,
      `J\tc\tRUNNING\t-\t-\t1796237600\t-\t1\t-\t4242\tmanual\t1796237600\t-`,
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
