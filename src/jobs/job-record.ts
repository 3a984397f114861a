import {StringDecoder} from 'node:string_decoder'

import {costOf} from '../routing/cost.js'
import {isJobName} from './names.js'
import type {ServicePolicy} from './service.js'
import {type JobStatus, exitCodeOf, isFinished, isStateName, statusOf} from './state.js'

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
  /** Why a job is FAILED or STOPPED without an exit status: `vanished` (its wrapper or session is gone, e.g. a reboot), `never-started`; or what a finished job's record lacks: `log-write-failed` (output lost: run.log could not be written, e.g. a full disk; the exit code is still the command's); for a service, why it ended for good (`restart-storm`, `memory-limit`: FAILED) or, while RUNNING, why it was last restarted (`exited`, `crashed`, `memory-limit`, `reboot`); `approval` for a job QUEUED until orch approve. For a Slurm job also Slurm's word: why it is QUEUED (`Resources`, `Priority`, `Dependency`, …), or how it ended when Slurm ended it (`TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, `PREEMPTED`, `CANCELLED` by someone else than orch stop). Else null. */
  reason: string | null
  logPath: string
  /** Attempts made so far (more than 1 after retries); 0 before the command first starts. */
  attempts: number
  /** Times the command was started again: restarts of a service (orch run --restart), or retries. */
  restarts: number
  /** 1-based place in the host's queue while QUEUED, else null. */
  queuePosition: number | null
  /** When the job was submitted (ISO 8601): a QUEUED job has waited since then. */
  createdAt: string
  /** `orch`: started by orch; `manual`: a log directory made by hand the protocol's way (only run.log). */
  kind: 'orch' | 'manual'
  /** What a QUEUED job waits for: `slot` (the host's --max-parallel queue) or `approval` (orch approve NAME); else null. */
  waitingFor: 'slot' | 'approval' | null
  /** Runtime × the host's price per hour recorded at orch run: final once finished, so far while running; null without a price. */
  cost: JobCost | null
  /** The runtime estimate given at orch run (--runtime), else null. */
  runtimeEstimateSeconds: number | null
  /** When the job should end (ISO 8601): its start plus the runtime estimate; null without an estimate or before it starts. */
  eta: string | null
  /** What runs the job: `local` (in the foreground here), `tmux` (a session on the host), `slurm` (a batch job on the cluster the host submits to). */
  scheduler: 'local' | 'tmux' | 'slurm'
  /** Slurm's job id (scheduler `slurm`), else null. */
  schedulerJobId: string | null
  /** The cluster node a Slurm job runs or ran on, once Slurm has placed it; else null. */
  node: string | null
}

export interface JobCost {
  amount: number
  currency: string
  /** `final` once the job ended; `so-far` while it runs or waits. */
  basis: 'final' | 'so-far'
  hourlyPrice: number
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
  /** The host's price per hour when the job was submitted, in `currency` (source: `priceBasis`). */
  hourlyPrice?: number
  currency?: string
  priceBasis?: string
  /** orch run --runtime, for the ETA. */
  runtimeEstimateSeconds?: number
  /** A service's restart policy (orch run --restart, --max-memory, --on-boot). */
  service?: ServicePolicy
}

/** A listed job: the JSON record itself, so printing 100,000 of them copies nothing. */
export type JobEntry = JobRecord

const field = (text: string | undefined) => (text === undefined || text === '-' ? null : text)
const DAY_SECONDS = 86_400
const LAST_ISO_DAY = 2_932_896 // 9999-12-31: later days need toISOString's expanded years
const dayPrefixes = new Map<number, string>()
const twoDigits = (value: number) => (value < 10 ? `0${value}` : String(value))

/**
 * Epoch seconds as ISO 8601 UTC, exactly as Date#toISOString writes them. Listing 100,000 jobs makes
 * 200,000 of these; building the date part once per day instead of per value halves the parse.
 */
export function epochToIso(text: string | null): string | null {
  const seconds = Number(text)
  if (text === null || text === '' || !Number.isInteger(seconds)) return null
  const day = Math.floor(seconds / DAY_SECONDS)
  if (day < 0 || day > LAST_ISO_DAY) return new Date(seconds * 1000).toISOString()
  let prefix = dayPrefixes.get(day)
  if (prefix === undefined) {
    prefix = new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 11)
    dayPrefixes.set(day, prefix)
  }
  const time = seconds - day * DAY_SECONDS
  return `${prefix}${twoDigits(Math.floor(time / 3600))}:${twoDigits(Math.floor((time % 3600) / 60))}:${twoDigits(time % 60)}.000Z`
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

type RecordSite = {target: 'cloud' | 'local'; label: string; logPath(name: string): string; now?: () => number}

const positive = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null)

/** A job's cost from the price recorded with it: (end or now − start) × price; nothing yet before it starts. */
function jobCost(meta: Partial<JobMeta>, startedAt: string | null, endedAt: string | null, finished: boolean, now: () => number): JobCost | null {
  const price = positive(meta.hourlyPrice)
  if (price === null) return null
  const currency = typeof meta.currency === 'string' ? meta.currency : 'USD'
  const start = startedAt === null ? null : Date.parse(startedAt)
  const end = endedAt === null ? now() : Date.parse(endedAt)
  const seconds = start === null ? 0 : Math.max(0, (end - start) / 1000)
  return {amount: costOf(price, seconds), currency, basis: finished ? 'final' : 'so-far', hourlyPrice: price}
}

/**
 * One record the host prints (`J name state exit reason started ended attempts queue pid kind
 * created scheduler scheduler_job_id node meta`, tab-separated, '-' for empty; see
 * src/jobs/sh/job-lib.sh), or undefined for a line that is not one.
 */
export function parseJobRecord(line: string, site: RecordSite): JobEntry | undefined {
  if (!line.startsWith('J\t')) return undefined
  // meta.json's first line is JSON, which holds no raw tab; a hand-edited one might, so what
  // follows the fifteenth tab is the meta whatever it holds.
  const f = line.split('\t')
  const [, name = '', state = '', exit, reason, started, ended, attempts, queue, , kind, created, scheduler, schedulerJobId, node] = f
  if (!isJobName(name) || !isStateName(state)) return undefined
  const meta = parseMeta(field(f.length > 16 ? f.slice(15).join('\t') : f[15]))
  const status = statusOf(state, whole(field(exit)))
  const createdAt = typeof meta.createdAt === 'string' ? meta.createdAt : (epochToIso(field(created)) ?? '')
  const startedAt = epochToIso(field(started))
  const endedAt = epochToIso(field(ended))
  const estimate = positive(meta.runtimeEstimateSeconds)
  return {
    name,
    state: status.state,
    target: site.target,
    host: typeof meta.host === 'string' && meta.host ? meta.host : site.label,
    command: typeof meta.command === 'string' ? meta.command : '',
    startedAt,
    endedAt,
    exitCode: exitCodeOf(status),
    // A QUEUED job's reason `approval` says it waits for a person (waitingFor); a Slurm job's is Slurm's word (Resources, Priority…).
    reason: status.state === 'QUEUED' && field(reason) === 'approval' ? null : field(reason),
    logPath: site.logPath(name),
    attempts: whole(field(attempts)) ?? 0,
    restarts: Math.max((whole(field(attempts)) ?? 0) - 1, 0),
    queuePosition: status.state === 'QUEUED' ? whole(field(queue)) : null,
    createdAt,
    kind: kind === 'manual' ? 'manual' : 'orch',
    // A Slurm job waits for what Slurm says (reason), never for one of the host's slots.
    waitingFor: status.state !== 'QUEUED' ? null : field(reason) === 'approval' ? 'approval' : scheduler === 'slurm' ? null : 'slot',
    cost: jobCost(meta, startedAt, endedAt, isFinished(status), site.now ?? Date.now),
    runtimeEstimateSeconds: estimate,
    eta: estimate !== null && startedAt !== null ? new Date(Date.parse(startedAt) + estimate * 1000).toISOString() : null,
    scheduler: scheduler === 'slurm' ? 'slurm' : site.target === 'local' ? 'local' : 'tmux',
    schedulerJobId: field(schedulerJobId),
    node: field(node),
  }
}

/** Every record in the host's output, newest first. */
export function parseJobList(output: string, site: RecordSite): JobEntry[] {
  const records: JobEntry[] = []
  for (const line of output.split('\n')) {
    const record = parseJobRecord(line, site)
    if (record) records.push(record)
  }
  return records.sort(newestFirst)
}

/**
 * Records parsed as the host's output arrives, so that parsing a long list overlaps the host
 * producing it instead of following it. Each record goes to `keep` (by default, `records`).
 */
export class JobRecordStream {
  readonly records: JobEntry[] = []
  private partial = ''
  // A chunk may end inside a multi-byte character (a command in any script).
  private readonly decoder = new StringDecoder('utf8')
  private readonly keep: (record: JobEntry) => void

  constructor(
    private readonly site: RecordSite,
    keep?: (record: JobEntry) => void,
  ) {
    this.keep = keep ?? ((record) => void this.records.push(record))
  }

  push(chunk: Buffer): void {
    const lines = (this.partial + this.decoder.write(chunk)).split('\n')
    this.partial = lines.pop() ?? ''
    for (const line of lines) this.add(line)
  }

  end(): JobEntry[] {
    const rest = this.partial + this.decoder.end()
    if (rest) this.add(rest)
    this.partial = ''
    return this.records
  }

  private add(line: string): void {
    const record = parseJobRecord(line, this.site)
    if (record) this.keep(record)
  }
}

/**
 * A job list held as each record's JSON text, newest first: what `orch list --json` prints. At
 * 100,000 jobs, keeping every record as an object until the end made the garbage collector copy
 * them all from young to old space, a third of the command's time; a record turned into its text
 * at once dies young. The text is kept as UTF-8 bytes in a few large buffers, outside the
 * JavaScript heap: the collector never copies them, and they are written as they are, with no 50 MB
 * string to join and encode.
 * JSON.stringify of the list gives the records themselves, so any consumer sees the same document.
 */
export class JsonJobList {
  private readonly keys: string[] = []
  /** Record i's text is arenas[arena[i]] bytes start[i] to end[i]: a few large buffers, not one per record. */
  private readonly arenas: Buffer[] = []
  private readonly arena: number[] = []
  private readonly start: number[] = []
  private readonly end: number[] = []
  private used = 0

  /** Takes a record as JobRecordStream's `keep`. */
  readonly add = (record: JobEntry): void => {
    this.keys.push(record.startedAt ?? record.createdAt)
    this.put(JSON.stringify(record))
  }

  private put(text: string): void {
    let current = this.arenas.at(-1)
    // A UTF-16 unit is at most 3 bytes of UTF-8: room for that, and the text always fits whole.
    if (current === undefined || current.length - this.used < text.length * 3) {
      current = Buffer.allocUnsafe(Math.max(ARENA_BYTES, text.length * 3))
      this.arenas.push(current)
      this.used = 0
    }
    this.arena.push(this.arenas.length - 1)
    this.start.push(this.used)
    this.used += current.write(text, this.used)
    this.end.push(this.used)
  }

  static joined(lists: readonly JsonJobList[]): JsonJobList {
    if (lists.length === 1) return lists[0]!
    const all = new JsonJobList()
    for (const list of lists) {
      const offset = all.arenas.length
      all.arenas.push(...list.arenas)
      for (let index = 0; index < list.length; index++) {
        all.keys.push(list.keys[index]!)
        all.arena.push(list.arena[index]! + offset)
        all.start.push(list.start[index]!)
        all.end.push(list.end[index]!)
      }
      all.used = list.used
    }
    return all
  }

  get length(): number {
    return this.keys.length
  }

  private text(index: number): Buffer {
    return this.arenas[this.arena[index]!]!.subarray(this.start[index], this.end[index])
  }

  /** Each record's JSON text (UTF-8), newest first (the order of newestFirst). */
  *encodedLines(): Generator<Buffer> {
    const {keys} = this
    const order = Array.from(keys, (_, index) => index)
    order.sort((a, b) => (keys[a]! < keys[b]! ? 1 : keys[a]! > keys[b]! ? -1 : a - b))
    for (const index of order) yield this.text(index)
  }

  /** Each record's JSON text, newest first. */
  lines(): string[] {
    return Array.from(this.encodedLines(), (line) => line.toString())
  }

  toJSON(): JobEntry[] {
    return this.lines().map((line) => JSON.parse(line) as JobEntry)
  }
}

const ARENA_BYTES = 4 * 1024 * 1024

/** ISO 8601 UTC times sort as plain strings; localeCompare would cost a third of a 100,000-job list. */
export function newestFirst(a: JobEntry, b: JobEntry): number {
  const left = a.startedAt ?? a.createdAt
  const right = b.startedAt ?? b.createdAt
  return left < right ? 1 : left > right ? -1 : 0
}
