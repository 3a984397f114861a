/**
 * `--json` prints one document and never builds the text table: with thousands of jobs the table
 * costs more than the listing. Both entry points of `orch list` are checked, the class oclif loads
 * and bin/run.js's dispatcher, with the listing stubbed (no host, no shell).
 */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {JobEntry} from '../../../src/jobs/job-record.js'

const formatList = vi.hoisted(() => vi.fn((jobs: readonly unknown[]) => `table of ${jobs.length}`))

vi.mock('../../../src/output/format-jobs.js', async (original) => ({...(await original<object>()), formatList}))
vi.mock('../../../src/sites/job-commands.js', async (original) => {
  const {JsonJobList} = await import('../../../src/jobs/job-record.js')
  const asJson = () => {
    const list = new JsonJobList()
    for (const job of JOBS) list.add(job)
    return list
  }
  return {...(await original<object>()), listJobsAt: async () => JOBS, listJobsAsJsonAt: async () => asJson()}
})

const JOBS = [
  {
    name: 'train-1',
    state: 'DONE',
    target: 'local',
    host: 'local',
    command: 'make',
    startedAt: '2026-02-16T14:30:00.000Z',
    endedAt: '2026-02-16T14:31:00.000Z',
    exitCode: 0,
    reason: null,
    logPath: '/tmp/logs/train-1/run.log',
    attempts: 1,
    queuePosition: null,
    createdAt: '2026-02-16T14:30:00.000Z',
    kind: 'orch',
    status: {},
  },
] as unknown as JobEntry[]

let written: string[]

beforeEach(() => {
  formatList.mockClear()
  written = []
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk))
    return true
  })
})

afterEach(() => {
  vi.restoreAllMocks()
})

/** Each runs `orch list ARGV` and returns the --json document it printed. */
const printed = (argv: string[]) => (argv.includes('--json') ? JSON.parse(written.join('')) : undefined)
const entryPoints: Array<[string, (argv: string[]) => Promise<unknown>]> = [
  [
    'class oclif loads',
    async (argv) => {
      const {default: List} = await import('../../../src/commands/list.js')
      await List.run(argv)
      return printed(argv)
    },
  ],
  [
    'dispatcher',
    async (argv) => {
      const {dispatch} = await import('../../../src/cli/dispatch.js')
      expect(await dispatch(['list', ...argv])).toBe(true)
      return printed(argv)
    },
  ],
]

describe.each(entryPoints)('orch list through the %s', (_label, list) => {
  it('--json: prints the document, never calls the formatter', async () => {
    const document = await list(['--json', '--where', 'local'])
    expect(formatList).not.toHaveBeenCalled()
    expect(document).toMatchObject([{name: 'train-1', state: 'DONE'}])
    expect(written.join('')).not.toContain('table of')
  })

  it('without --json: formats the table once', async () => {
    await list(['--where', 'local'])
    expect(formatList).toHaveBeenCalledTimes(1)
    expect(written.join('')).toBe('table of 1\n')
  })
})
