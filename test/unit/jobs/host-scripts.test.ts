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

/**
 * Runs the job library on a job "j" whose wrapper (pid 999999, not in the process table) is gone,
 * its pid file written PID_AGE seconds ago ($2), then BODY; the root is removed afterwards.
 */
function withGoneWrapper(body: string, pidAge: number, arg: string) {
  const root = spawnSync('mktemp', ['-d'], {encoding: 'utf8'}).stdout.trim()
  const script = `${LIBRARY}
root=$1 sock=
mkdir -p "$root/j"
echo '{"name":"j","command":"true","target":"cloud","host":"h","createdAt":"2026-01-01T00:00:00.000Z"}' > "$root/j/meta.json"
echo "$(date +%s)_1" > "$root/j/marker"
: > "$root/j/run.log"
echo 999999 > "$root/j/pid"
touch -d "@$(( $(date +%s) - $2 ))" "$root/j/pid"
process_table() { echo "1 /sbin/init"; }
${body}
rc=$?; rm -rf "$root"; exit $rc`
  return spawnSync('sh', ['-c', script, 'sh', root, String(pidAge), arg], {encoding: 'utf8'})
}

describe('a wrapper that starts while the process table is read', () => {
  // The table is read first, then the job's files: a wrapper that wrote its pid in between is in
  // neither. Judged vanished, it would be FAILED for good (and indexed so); it is STARTING.
  const record = (pidAgeSeconds: number) => {
    const result = withGoneWrapper('job_record j', pidAgeSeconds, '')
    expect(result.stderr).toBe('')
    return result.stdout.split('\t')
  }

  it('a pid file newer than the process table: STARTING, not vanished', () => {
    // ps is read after the pid file's second here only when both fall in one second; a pid
    // written 5 s in the future is certainly after it.
    expect(record(-5).slice(1, 5)).toEqual(['j', 'STARTING', '-', '-'])
  })

  it('a pid file older than the process table whose wrapper is gone: FAILED, vanished', () => {
    expect(record(10).slice(1, 5)).toEqual(['j', 'FAILED', '-', 'vanished'])
  })
})

describe('a job orch stop is ending', () => {
  // stop.sh writes "stopped", kills the wrapper, then writes the status: a listing in between sees a
  // STOPPED job without one. It must not go into the index, whose records are never read again.
  const listAndIndex = (stoppedAgoSeconds: number) => {
    const result = withGoneWrapper(
      `echo $(( $(date +%s) - $3 )) > "$root/j/stopped"
job_records > /dev/null || exit 9
grep -c '^J	j	' "$root/.orch-index" 2> /dev/null || true`,
      300,
      String(stoppedAgoSeconds),
    )
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    return Number(result.stdout.trim())
  }

  it('stopped a moment ago, no status yet: listed, not indexed', () => {
    expect(listAndIndex(1)).toBe(0)
  })

  it('stopped long ago and never given a status: indexed as it is', () => {
    expect(listAndIndex(600)).toBe(1)
  })
})
