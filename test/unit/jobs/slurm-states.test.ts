import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

const LIBRARY = readFileSync(new URL('../../../src/jobs/sh/job-lib.sh', import.meta.url), 'utf8')

/**
 * Slurm job directories (start.sh's files) under a fresh root, listed by the job library with
 * squeue and sacct answering as a cluster would (shell functions standing in for the commands, each
 * call counted), so every row of the state mapping is checked in one listing.
 */
interface SlurmCase {
  name: string
  /** Slurm's job id (start.sh writes it once sbatch answers); none: not answered yet. */
  id?: number
  /** squeue's line for the job: state|reason|node. */
  squeue?: string
  /** sacct's line: state|reason|node (only asked for jobs squeue no longer lists). */
  sacct?: string
  exit?: number
  stopped?: boolean
  kept?: string
}

const CASES: SlurmCase[] = [
  {name: 'pending', id: 11, squeue: 'PENDING|Resources|'},
  {name: 'pending-none', id: 12, squeue: 'PENDING|None|'},
  {name: 'configuring', id: 13, squeue: 'CONFIGURING|None|n1'},
  {name: 'running', id: 14, squeue: 'RUNNING|None|n1'},
  {name: 'completing', id: 15, squeue: 'COMPLETING|None|n1', exit: 0},
  {name: 'completed', id: 16, squeue: 'COMPLETED|None|n1', exit: 0},
  {name: 'failed', id: 17, squeue: 'FAILED|NonZeroExitCode|n1', exit: 3},
  {name: 'timeout', id: 18, squeue: 'TIMEOUT|TimeLimit|n2', exit: 143},
  {name: 'oom-no-exit', id: 19, squeue: 'OUT_OF_MEMORY|OutOfMemory|n2'},
  {name: 'stopped', id: 20, squeue: 'CANCELLED|None|n1', exit: 143, stopped: true},
  {name: 'cancelled-by-other', id: 21, squeue: 'CANCELLED|None|n1'},
  {name: 'node-fail-sacct', id: 22, sacct: 'NODE_FAIL|None|n3'},
  {name: 'cancelled-sacct', id: 23, sacct: 'CANCELLED by 0|None|n3'},
  {name: 'forgotten', id: 24},
  {name: 'forgotten-timeout', id: 25, exit: 143, kept: 'TIMEOUT'},
  {name: 'not-answered'},
]

function listSlurmJobs(): {records: Map<string, string[]>; squeueCalls: string[]; sacctCalls: string[]; registry: string[]; kept: Record<string, string>} {
  const root = spawnSync('mktemp', ['-d'], {encoding: 'utf8'}).stdout.trim()
  const setup = CASES.map((c) => {
    const lines = [
      `mkdir -p "$root/${c.name}"`,
      `printf '%s\\n' '{"name":"${c.name}","command":"true","target":"cloud","host":"h","createdAt":"2026-01-01T00:00:00.000Z"}' > "$root/${c.name}/meta.json"`,
      `echo "$(date +%s)_1" > "$root/${c.name}/marker"`,
      `: > "$root/${c.name}/run.log"`,
      `echo slurm > "$root/${c.name}/scheduler"`,
    ]
    if (c.id !== undefined) lines.push(`echo ${c.id} > "$root/${c.name}/slurm-id"`, `mkdir -p "$root/.orch-slurm"`, `echo ${c.id} > "$root/.orch-slurm/${c.name}"`)
    if (c.exit !== undefined) lines.push(`printf '%s\\n\\n' ${c.exit} > "$root/${c.name}/exit"`)
    if (c.stopped) lines.push(`date +%s > "$root/${c.name}/stopped"`)
    if (c.kept) lines.push(`echo ${c.kept} > "$root/${c.name}/slurm-state"`)
    return lines.join('\n')
  })
  const squeueLines = CASES.filter((c) => c.squeue).map((c) => `${c.id}|${c.squeue}`)
  const sacctLines = CASES.filter((c) => c.sacct).map((c) => `${c.id}|${c.sacct}`)
  const script = `${LIBRARY}
root=$1 sock=
${setup.join('\n')}
process_table() { echo "1 /sbin/init"; }
squeue() { echo "$*" >> "$root/.squeue-calls"; printf '%s\\n' ${squeueLines.map((line) => `'${line}'`).join(' ')} '99|RUNNING|None|other-users-job'; }
sacct() { echo "$*" >> "$root/.sacct-calls"; printf '%s\\n' ${sacctLines.map((line) => `'${line}'`).join(' ')}; }
job_records
echo @@
cat "$root/.squeue-calls"
echo @@
cat "$root/.sacct-calls"
echo @@
ls "$root/.orch-slurm"
echo @@
for f in "$root"/*/slurm-state; do printf '%s %s\\n' "$(basename "$(dirname "$f")")" "$(cat "$f")"; done
rm -rf "$root"`
  const result = spawnSync('sh', ['-c', script, 'sh', root], {encoding: 'utf8'})
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  const [list = '', squeue = '', sacct = '', registry = '', kept = ''] = result.stdout.split('@@\n')
  const records = new Map(list.split('\n').filter((line) => line.startsWith('J\t')).map((line) => [line.split('\t')[1]!, line.split('\t')]))
  return {
    records,
    squeueCalls: squeue.split('\n').filter(Boolean),
    sacctCalls: sacct.split('\n').filter(Boolean),
    registry: registry.split('\n').filter(Boolean),
    kept: Object.fromEntries(kept.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string])),
  }
}

describe('the states of Slurm jobs (job-lib.sh), one listing', () => {
  const listing = listSlurmJobs()
  // state, exit, reason, scheduler, job id, node
  const row = (name: string) => {
    const f = listing.records.get(name)!
    return [f[2], f[3], f[4], f[12], f[13], f[14]]
  }

  it.each([
    ['pending', ['QUEUED', '-', 'Resources', 'slurm', '11', '-']],
    ['pending-none', ['QUEUED', '-', '-', 'slurm', '12', '-']],
    ['configuring', ['STARTING', '-', '-', 'slurm', '13', 'n1']],
    ['running', ['RUNNING', '-', '-', 'slurm', '14', 'n1']],
    // Its exit file is written, but Slurm still holds it: running until Slurm lets it go.
    ['completing', ['RUNNING', '0', '-', 'slurm', '15', 'n1']],
    ['completed', ['DONE', '0', '-', 'slurm', '16', 'n1']],
    ['failed', ['FAILED', '3', '-', 'slurm', '17', 'n1']],
    ['timeout', ['FAILED', '143', 'TIMEOUT', 'slurm', '18', 'n2']],
    ['oom-no-exit', ['FAILED', '-', 'OUT_OF_MEMORY', 'slurm', '19', 'n2']],
    ['stopped', ['STOPPED', '143', '-', 'slurm', '20', 'n1']],
    ['cancelled-by-other', ['FAILED', '-', 'CANCELLED', 'slurm', '21', 'n1']],
    ['node-fail-sacct', ['FAILED', '-', 'NODE_FAIL', 'slurm', '22', 'n3']],
    ['cancelled-sacct', ['FAILED', '-', 'CANCELLED', 'slurm', '23', 'n3']],
    ['forgotten', ['FAILED', '-', 'vanished', 'slurm', '24', '-']],
    ['forgotten-timeout', ['FAILED', '143', 'TIMEOUT', 'slurm', '25', '-']],
    ['not-answered', ['STARTING', '-', '-', 'slurm', '-', '-']],
  ])('%s', (name, expected) => {
    expect(row(name)).toEqual(expected)
  })

  it('asks squeue once for all of them, and sacct once for those squeue no longer lists', () => {
    expect(listing.squeueCalls).toHaveLength(1)
    expect(listing.squeueCalls[0]).toMatch(/-t all -u \S+ -o %i\|%T\|%r\|%N/)
    expect(listing.sacctCalls).toHaveLength(1)
    const [, ids = ''] = /^-n -X -P -j (\S+) -o JobIDRaw,State,Reason,NodeList$/.exec(listing.sacctCalls[0]!) ?? []
    expect(ids.split(',').sort()).toEqual(['22', '23', '24', '25'])
    expect(listing.records.has('other-users-job')).toBe(false)
  })

  it('keeps an abnormal end in the job directory; drops from the registry what Slurm no longer holds and the index keeps', () => {
    expect(listing.kept).toEqual({'timeout': 'TIMEOUT', 'oom-no-exit': 'OUT_OF_MEMORY', 'node-fail-sacct': 'NODE_FAIL', 'forgotten-timeout': 'TIMEOUT'})
    // Still held by Slurm, or ended without an exit file while squeue lists it (the file may be on
    // its way): asked again next time. What sacct says of a job is final.
    expect(listing.registry.sort()).toEqual(['cancelled-by-other', 'completing', 'configuring', 'oom-no-exit', 'pending', 'pending-none', 'running'])
  })
})
