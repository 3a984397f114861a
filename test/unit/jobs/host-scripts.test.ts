import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {SCRIPT_STATUS} from '../../../src/jobs/host-scripts.js'
import {isJobName} from '../../../src/jobs/names.js'

const LIBRARY = readFileSync(new URL('../../../src/jobs/sh/job-lib.sh', import.meta.url), 'utf8')
const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

describe('the host-script exit statuses', () => {
  it('job-lib.sh EX_* and SCRIPT_STATUS are one table', () => {
    const shell = Object.fromEntries([...LIBRARY.matchAll(/^ *EX_([A-Z_]+)=(\d+)$/gm)].map((m) => [camel(m[1]!), Number(m[2])]))
    const {ok, ...rest} = SCRIPT_STATUS
    expect(ok).toBe(0)
    expect(shell).toEqual(rest)
    expect(new Set(Object.values(rest)).size).toBe(Object.values(rest).length)
  })
})

describe('job names', () => {
  it.each(['my-job', 'a', 'A9_-', 'a'.repeat(64), '', 'a.b', '-a', '_a', 'a b', 'a'.repeat(65), 'jöb', 'a;b', '~a'])('sh and TypeScript agree on %j', (name) => {
    const sh = spawnSync('sh', ['-c', `${LIBRARY}\nvalid_job_name "$1"`, 'sh', name])
    expect(sh.status === 0).toBe(isJobName(name))
  })
})

it('the cron tools carry the current job library (npm run assemble)', () => {
  const check = spawnSync(process.execPath, [new URL('../../../scripts/assemble-host-tools.mjs', import.meta.url).pathname, '--check'], {encoding: 'utf8'})
  expect(check.stderr).toBe('')
  expect(check.status).toBe(0)
})
