/**
 * `--json` prints one document and never builds the text table: with thousands of jobs the table
 * costs more than the listing. Both entry points of `orch list` are checked, the oclif command and
 * the fast path, with the job sites stubbed (no host, no shell).
 */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {JobEntry} from '../../src/jobs/job-record.js'

const formatList = vi.hoisted(() => vi.fn((jobs: readonly unknown[]) => `table of ${jobs.length}`))

vi.mock('../../src/output/format-jobs.js', async (original) => ({...(await original<object>()), formatList}))
vi.mock('../../src/sites/job-sites.js', () => ({sitesToList: async () => [], closeAll: async () => {}}))
vi.mock('../../src/jobs/list-jobs.js', async (original) => ({...(await original<object>()), listJobs: async () => JOBS}))

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

/** Each runs `orch list ARGV` and returns the --json document. */
const entryPoints: Array<[string, (argv: string[]) => Promise<unknown>]> = [
  [
    'oclif command',
    async (argv) => {
      const {default: List} = await import('../../src/commands/list.js')
      // oclif prints the document through its own writer; run() returns it.
      return List.run(argv, new URL('../../', import.meta.url).pathname)
    },
  ],
  [
    'fast path',
    async (argv) => {
      const {tryFastCommand} = await import('../../src/cli/fast-path.js')
      expect(await tryFastCommand(['list', ...argv])).toBe(true)
      return argv.includes('--json') ? JSON.parse(written.join('')) : undefined
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
