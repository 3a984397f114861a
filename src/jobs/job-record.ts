import {isJobName} from './names.js'
import {type JobStatus, deriveStatus, exitCodeOf} from './state.js'

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

interface RawJob {
  meta?: JobMeta
  files: Map<string, string>
  alive: boolean
  staleStart: boolean
  queuePosition: number | null
}

const epochToIso = (text: string | undefined) => {
  const seconds = Number(text)
  return text && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null
}

/** Parse LIST_SCRIPT output into records, newest first. */
export function parseJobList(output: string, site: {target: 'cloud' | 'local'; label: string; logPath(name: string): string}): Array<JobRecord & {status: JobStatus; createdAt: string}> {
  const jobs = new Map<string, RawJob>()
  const job = (name: string) => {
    let raw = jobs.get(name)
    if (!raw) jobs.set(name, (raw = {files: new Map(), alive: false, staleStart: false, queuePosition: null}))
    return raw
  }
  let queued = 0
  for (const line of output.split('\n')) {
    if (line.startsWith('F ')) {
      const colon = line.indexOf(':')
      const path = line.slice(2, colon)
      const slash = path.indexOf('/')
      const name = path.slice(0, slash)
      if (colon < 0 || slash < 0 || !isJobName(name)) continue
      const file = path.slice(slash + 1)
      const content = line.slice(colon + 1)
      if (file === 'meta.json') {
        try {
          job(name).meta = JSON.parse(content) as JobMeta
        } catch {}
      } else job(name).files.set(file, content.trim())
    } else if (line.startsWith('A ')) {
      const [, name, alive] = line.split(' ')
      if (name && isJobName(name)) job(name).alive = alive === '1'
    } else if (line.startsWith('Q ')) {
      const name = line.slice(2).trim()
      if (isJobName(name)) job(name).queuePosition = ++queued
    } else if (line.startsWith('S ')) {
      const name = line.slice(2).trim()
      if (isJobName(name)) job(name).staleStart = true
    }
  }

  const records = []
  for (const [name, raw] of jobs) {
    if (!raw.meta) continue
    const exitText = raw.files.get('exit')
    const status = deriveStatus({
      exitCode: exitText !== undefined && exitText !== '' && Number.isFinite(Number(exitText)) ? Number(exitText) : undefined,
      stopped: raw.files.has('stopped'),
      alive: raw.alive,
      hasPid: raw.files.has('pid'),
      started: raw.files.has('started'),
      queued: raw.files.has('queued'),
      staleStart: raw.staleStart,
    })
    records.push({
      name,
      state: status.state,
      target: site.target,
      host: raw.meta.host || site.label,
      command: raw.meta.command,
      startedAt: epochToIso(raw.files.get('started')),
      endedAt: epochToIso(raw.files.get('ended')),
      exitCode: exitCodeOf(status),
      logPath: site.logPath(name),
      attempts: Number(raw.files.get('attempts') ?? 0) || 0,
      queuePosition: status.state === 'QUEUED' ? raw.queuePosition : null,
      status,
      createdAt: raw.meta.createdAt,
    })
  }
  return records.sort((a, b) => (b.startedAt ?? b.createdAt).localeCompare(a.startedAt ?? a.createdAt))
}
