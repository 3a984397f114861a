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

describe("a vanished job's secrets", () => {
  it('are deleted by a listing before its answer is out, not later with the index (index_later)', () => {
    // The check runs the instant job_records returns, in the same shell: whatever it left to the
    // background has not run yet.
    const result = withGoneWrapper(
      `echo 'export SECRET=x' > "$root/j/env.sh"
index_later=1
job_records | cut -f2-5
if [ -f "$root/j/env.sh" ]; then echo "env.sh left"; else echo "env.sh gone"; fi
wait`,
      600,
      '',
    )
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('j\tFAILED\t-\tvanished\nenv.sh gone\n')
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

/**
 * The index of finished jobs (<root>/.orch-index): job_records reads a finished job's record from it
 * instead of its directory. Whatever happened to the index or the directories since, a listing
 * shows each job once, as its directory says. Each case runs the library in a fresh root with
 * finished jobs a, b and c (ps shows no wrapper of theirs), then BODY; stdout is BODY's.
 */
function withFinishedJobs(body: string) {
  const root = spawnSync('mktemp', ['-d'], {encoding: 'utf8'}).stdout.trim()
  const script = `${LIBRARY}
root=$1 sock=
process_table() { echo "1 /sbin/init"; if [ -f "$root/.live" ]; then cat "$root/.live"; fi; }
finished() { # NAME EXIT
  mkdir -p "$root/$1"
  printf '{"name":"%s","command":"echo %s","target":"cloud","host":"h","createdAt":"2026-01-01T00:00:00.000Z"}\\n' "$1" "$1" > "$root/$1/meta.json"
  echo "1767225600_1" > "$root/$1/marker"; echo 999999 > "$root/$1/pid"; echo 1 > "$root/$1/attempts"
  echo 1767225601 > "$root/$1/started"; echo 1767225602 > "$root/$1/ended"; echo "$2" > "$root/$1/exit"
  printf 'out\\n[EXIT: %s]\\n' "$2" > "$root/$1/run.log"
}
finished a 0; finished b 1; finished c 0
# name state exit, one line per job, sorted
brief() { job_records "$@" | cut -f2-4 | sort; }
${body}
rc=$?; rm -rf "$root"; exit $rc`
  const result = spawnSync('sh', ['-c', script, 'sh', root], {encoding: 'utf8'})
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return result.stdout
}
const ABC = 'a\tDONE\t0\nb\tFAILED\t1\nc\tDONE\t0\n'
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`

describe('the index of finished jobs', () => {
  it('a second listing, read from the index, says what the first did', () => {
    expect(withFinishedJobs('brief; echo ---; brief; echo ---; cut -f2 "$root/.orch-index" | sort')).toBe(`${ABC}---\n${ABC}---\na\nb\nc\n`)
  })

  it('holds no record twice and lists none twice, listed again and again', () => {
    expect(withFinishedJobs('brief > /dev/null; brief > /dev/null; job_records | cut -f2 | sort | uniq -d; cut -f2 "$root/.orch-index" | sort | uniq -d')).toBe('')
    // And all three are there, in both (an empty listing has no doubles either).
    expect(withFinishedJobs('brief > /dev/null; brief > /dev/null; job_records | wc -l; wc -l < "$root/.orch-index"').split(/\s+/).filter(Boolean)).toEqual(['3', '3'])
  })

  it('a job directory removed by hand is no longer listed, and leaves the index', () => {
    expect(withFinishedJobs('brief > /dev/null; rm -rf "$root/b"; brief; echo ---; cut -f2 "$root/.orch-index" | sort')).toBe('a\tDONE\t0\nc\tDONE\t0\n---\na\nc\n')
  })

  it('a name started again: the new run is listed, not the indexed one, and replaces it when it ends', () => {
    expect(
      withFinishedJobs(`brief > /dev/null
now=$(date +%s)
mkdir -p "$root/.orch-active"; : > "$root/.orch-active/b.\${now}_7"
rm -f "$root/b/exit" "$root/b/ended"; echo "\${now}_7" > "$root/b/marker"; echo 4242 > "$root/b/pid"; echo "$now" > "$root/b/started"
echo "4242 sh $root/b/orch-wrapper.sh" > "$root/.live"
brief; echo ---
brief unfinished; echo ---
rm "$root/.live"; echo 3 > "$root/b/exit"; echo "$now" > "$root/b/ended"
brief; echo ---
brief; echo ---
grep -c '^J	b	' "$root/.orch-index"; ls "$root/.orch-active"`),
    ).toBe(`a\tDONE\t0\nb\tRUNNING\t-\nc\tDONE\t0\n---\nb\tRUNNING\t-\n---\na\tDONE\t0\nb\tFAILED\t3\nc\tDONE\t0\n---\na\tDONE\t0\nb\tFAILED\t3\nc\tDONE\t0\n---\n1\n`)
  })

  it('a damaged index (a line cut short, a stray line, a record twice) is not believed, and is rewritten', () => {
    expect(
      withFinishedJobs(`brief > /dev/null
{ grep '^J	a	' "$root/.orch-index"; printf 'J\\tb\\tDONE\\t0\\t-\\n'; echo 'garbage'; grep '^J	c	' "$root/.orch-index"; grep '^J	c	' "$root/.orch-index"; } > "$root/.orch-index.x"
mv "$root/.orch-index.x" "$root/.orch-index"
brief; echo ---
brief; echo ---
cut -f2 "$root/.orch-index" | sort`),
    ).toBe(`${ABC}---\n${ABC}---\na\nb\nc\n`)
  })

  it.each([
    ['a line cut short in its meta', `{ grep '^J	a	' "$root/.orch-index" | sed 's/"createdAt.*//'; grep -v '^J	a	' "$root/.orch-index"; }`],
    ['a line cut short and the next glued to it', `{ grep '^J	a	' "$root/.orch-index" | head -c 60; grep -v '^J	a	' "$root/.orch-index"; }`],
    ['the last line cut short, with no final newline', `{ grep -v '^J	c	' "$root/.orch-index"; grep '^J	c	' "$root/.orch-index" | sed 's/"createdAt.*//' | tr -d '\\n'; }`],
  ])('a damaged index whose names are all whole (%s): every job as its directory says, the index made whole again', (_, damage) => {
    // name, state, exit and the meta's command: a record read from a damaged line would lose them.
    const records = 'job_records | awk -F "\t" \'{ print $2, $3, $4, ($16 ~ /^[{]"command":"echo [a-z]+".*[}]$/ ? "meta ok" : "meta lost") }\' | sort'
    const whole = ['a DONE 0 meta ok', 'b FAILED 1 meta ok', 'c DONE 0 meta ok'].join('\n')
    expect(
      withFinishedJobs(`brief > /dev/null
${damage} > "$root/.orch-index.x"
mv "$root/.orch-index.x" "$root/.orch-index"
${records}; echo ---
${records}; echo ---
awk -F "\t" 'NF != 16' "$root/.orch-index"; tail -c 1 "$root/.orch-index" | od -An -c | tr -d ' '; cut -f2 "$root/.orch-index" | sort`),
    ).toBe(`${whole}\n---\n${whole}\n---\n\\n\na\nb\nc\n`)
  })

  it('a lock left by a lister that died (its updates file inside) is broken after a minute, and the index moves on', () => {
    expect(
      withFinishedJobs(`brief > /dev/null
mkdir "$root/.orch-index.lock"; echo 'X	junk' > "$root/.orch-index.lock/updates"
touch -d '10 minutes ago' "$root/.orch-index.lock"
finished d 2
brief; echo ---
ls -a "$root" | grep -c '^.orch-index.lock' ; cut -f2 "$root/.orch-index" | sort`),
    ).toBe(`${ABC}d\tFAILED\t2\n---\n0\na\nb\nc\nd\n`)
  })

  it('entries under the root named like the sections of the state program ("@live", "@dirs") hide no job', () => {
    // Forty more jobs, so that some come after "@live" in directory order (ls -f: unsorted).
    const more = 'i=0; while [ $i -lt 40 ]; do finished "more-$i" 0; i=$((i + 1)); done'
    expect(withFinishedJobs(`${more}; mkdir "$root/@live" "$root/@dirs" "$root/@index"; brief | wc -l; brief | wc -l`)).toBe('43\n43\n')
  })

  it('the list script files the index away after its answer: the records land, the lock goes', () => {
    const listScript = ['prelude', 'list'].map((name) => readFileSync(new URL(`../../../src/jobs/sh/${name}.sh`, import.meta.url), 'utf8')).join('\n')
    const list = `sh -c "$LIBRARY"'
'"$LIST" orch "$root" '' | cut -f2-4 | sort`
    const body = `LIBRARY=${shellQuote(LIBRARY)} LIST=${shellQuote(listScript)}
${list}; echo ---
i=0; while [ ! -f "$root/.orch-index" ] || [ -d "$root/.orch-index.lock" ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 7; sleep 0.05; done
cut -f2 "$root/.orch-index" | sort; echo ---
${list}`
    expect(withFinishedJobs(body)).toBe(`${ABC}---\na\nb\nc\n---\n${ABC}`)
  })

  it('with "unfinished", lists no finished job, indexed or not', () => {
    expect(withFinishedJobs('brief unfinished; brief unfinished; echo ---; brief')).toBe(`---\n${ABC}`)
  })

  it('a record the index gains when a job ends is whole even when written among others (never appended in pieces)', () => {
    expect(withFinishedJobs('brief > /dev/null; finished d 2; brief; echo ---; awk -F "\t" "NF != 16" "$root/.orch-index"')).toBe(`${ABC}d\tFAILED\t2\n---\n`)
  })
})
