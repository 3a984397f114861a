import {isJobName} from './names.js'
import {type JobStatus, exitCodeOf, isStateName, statusOf} from './state.js'

/** What `orch list --json` and `orch status --json` print per job (a contract agents rely on). */
export interface JobRecord {
  name: string
  state: JobStatus['state']
  target: 'cloud' | 'local'
  host: string
  command: string
  startedAt: string | null
  endedAt: string | null
  exitCode: number | null
  /** Why a job is FAILED or STOPPED without an exit status: `vanished` (its wrapper or session is gone, e.g. a reboot), `never-started`; else null. */
  reason: string | null
  logPath: string
  /** Attempts made so far (more than 1 after retries); 0 before the command first starts. */
  attempts: number
  /** 1-based place in the host's queue while QUEUED, else null. */
  queuePosition: number | null
}

/** What `orch run` stores in meta.json; never secret values, only variable names. */
export interface JobMeta {
  name: string
  command: string
  target: 'cloud' | 'local'
  host: string
  createdAt: string
  cwd: string | null
  envNames: string[]
  /** Ship run.log to CloudWatch Logs when the job ends (orch run --cloudwatch). */
  cloudwatch?: boolean
  /** What orch pull NAME downloads by default (orch run --artifacts): paths or globs in the job's cwd. */
  artifacts?: string[]
}

export type JobEntry = JobRecord & {status: JobStatus; createdAt: string; kind: 'orch' | 'manual'}

const field = (text: string | undefined) => (text === undefined || text === '-' ? null : text)
const epochToIso = (text: string | null) => {
  const seconds = Number(text)
  return text !== null && Number.isInteger(seconds) ? new Date(seconds * 1000).toISOString() : null
}
const whole = (text: string | null) => (text !== null && /^\d+$/.test(text) ? Number(text) : null)

function parseMeta(text: string | null): Partial<JobMeta> {
  if (text === null) return {}
  try {
    const meta = JSON.parse(text) as unknown
    return meta !== null && typeof meta === 'object' ? (meta as Partial<JobMeta>) : {}
  } catch {
    // A meta.json damaged on the host still leaves a job that must be listed.
    return {}
  }
}

/**
 * The records the host prints (`J name state exit reason started ended attempts queue pid kind
 * created meta`, tab-separated, '-' for empty; see src/jobs/sh/job-lib.sh), newest first.
 */
export function parseJobList(output: string, site: {target: 'cloud' | 'local'; label: string; logPath(name: string): string}): JobEntry[] {
  const records: JobEntry[] = []
  for (const line of output.split('\n')) {
    if (!line.startsWith('J\t')) continue
    const f = line.split('\t')
    const [, name = '', state = '', exit, reason, started, ended, attempts, queue, , kind, created] = f
    if (!isJobName(name) || !isStateName(state)) continue
    const meta = parseMeta(field(f.slice(12).join('\t')))
    const status = statusOf(state, whole(field(exit)))
    const createdAt = typeof meta.createdAt === 'string' ? meta.createdAt : (epochToIso(field(created)) ?? '')
    records.push({
      name,
      state: status.state,
      target: site.target,
      host: typeof meta.host === 'string' && meta.host ? meta.host : site.label,
      command: typeof meta.command === 'string' ? meta.command : '',
      startedAt: epochToIso(field(started)),
      endedAt: epochToIso(field(ended)),
      exitCode: exitCodeOf(status),
      reason: field(reason),
      logPath: site.logPath(name),
      attempts: whole(field(attempts)) ?? 0,
      queuePosition: status.state === 'QUEUED' ? whole(field(queue)) : null,
      status,
      createdAt,
      kind: kind === 'manual' ? 'manual' : 'orch',
    })
  }
  return records.sort(newestFirst)
}

export function newestFirst(a: JobEntry, b: JobEntry): number {
  return (b.startedAt ?? b.createdAt).localeCompare(a.startedAt ?? a.createdAt)
}
