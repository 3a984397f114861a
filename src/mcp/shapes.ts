/**
 * The JSON documents orch answers with, as schemas: the MCP tools' output schemas and the skill's
 * references (scripts/skill-references.mjs) are made from these. Each is checked at compile time
 * against the type the core function returns (the same value `--json` prints), so a field added
 * to one and not the other does not build.
 */
import {z} from 'zod'

import type {ErrorDocument} from '../errors/errors.js'
import {EXIT_CODES} from '../errors/errors.js'
import type {JobRecord} from '../jobs/job-record.js'
import type {LogPage} from '../jobs/log-page.js'
import {STATE_NAMES} from '../jobs/state.js'
import type {StopOutcome} from '../jobs/stop-job.js'
import {HEAVY_KINDS, REASON_CODES} from '../routing/profile.js'
import type {RouteAnswer} from '../sites/host-price.js'
import type {RunOutcome} from '../sites/run-job.js'

const target = z.enum(['cloud', 'local']).describe('where the job runs: this machine (local) or the cloud host')
const isoTime = z.string().describe('ISO 8601, UTC')

export const reasonShape = z.object({
  code: z.enum(REASON_CODES).describe('stable identifier to match on'),
  message: z.string(),
  inferred: z.boolean().describe('the fact behind it was guessed from the command text'),
})

export const estimatedCostShape = z
  .object({
    amount: z.number(),
    currency: z.string(),
    basis: z.enum(['ORCH_HOURLY_PRICE', 'aws-price-list', 'local']).describe('where the price per hour came from'),
    hourlyPrice: z.number(),
    runtimeEstimateSeconds: z.number().nullable(),
  })
  .nullable()
  .describe("the host's price per hour × the runtime estimate; null when unknown (estimatedCostReason says why)")

const costFields = {
  estimatedCost: estimatedCostShape,
  estimatedCostReason: z.string().nullable(),
}

export const routeShape = z.object({
  ...costFields,
  target,
  reasons: z.array(reasonShape).describe('every rule that applied, in the order decided'),
  profile: z.object({
    runtimeMs: z.number().nullable(),
    memoryBytes: z.union([z.number(), z.literal('unknown')]).nullable(),
    heavyLogs: z.boolean(),
    heavy: z.string().nullable().describe(`heavy processing kind: ${HEAVY_KINDS.join(', ')}`),
    parallel: z.number(),
    ui: z.boolean(),
    light: z.boolean(),
    agent: z.string().nullable(),
    command: z.string().nullable(),
    inferred: z.array(z.string()).describe('profile fields guessed from the command text'),
  }),
})

const schedulerFields = {
  scheduler: z.enum(['local', 'tmux', 'slurm']).describe('what runs the job: the foreground here, a tmux session on the host, or a Slurm batch job'),
  schedulerJobId: z.string().nullable().describe("Slurm's job id, else null"),
  node: z.string().nullable().describe('the cluster node a Slurm job runs or ran on, else null'),
}

export const runShape = z.object({
  name: z.string(),
  target,
  host: z.string().describe('`local`, or user@host:port'),
  state: z.enum(STATE_NAMES),
  logPath: z.string(),
  reasons: z.array(reasonShape),
  scheduler: schedulerFields.scheduler,
  exitCode: z.number().nullable().describe("the job's status when it was waited for, else null"),
  sync: z
    .object({files: z.number(), bytes: z.number(), deleted: z.number(), remoteDir: z.string(), skipped: z.array(z.string()).optional()})
    .optional()
    .describe('what sync sent'),
  ...costFields,
  waitingFor: z.enum(['approval']).nullable().describe('approval: the job was not started; it waits QUEUED on its host until a person runs orch approve NAME'),
  approval: z.object({why: z.string(), approve: z.string(), refuse: z.string()}).nullable().describe('set when the job waits for approval: why, and the commands that decide'),
})

export const jobShape = z.object({
  name: z.string(),
  state: z.enum(STATE_NAMES),
  target,
  host: z.string(),
  command: z.string(),
  startedAt: isoTime.nullable(),
  endedAt: isoTime.nullable(),
  exitCode: z.number().nullable(),
  reason: z.string().nullable().describe('vanished, never-started, log-write-failed, approval, restart-storm, memory-limit; while a service runs, why it last restarted; else null'),
  logPath: z.string(),
  attempts: z.number().describe('attempts made so far (more than 1 after retries)'),
  restarts: z.number().describe('times a service (or a retried job) was started again'),
  queuePosition: z.number().nullable().describe("1-based place in the host's queue while QUEUED"),
  createdAt: isoTime.describe('when the job was submitted'),
  kind: z.enum(['orch', 'manual']),
  waitingFor: z.enum(['slot', 'approval']).nullable().describe('what a QUEUED job waits for: a parallel slot, or a person (orch approve)'),
  cost: z
    .object({amount: z.number(), currency: z.string(), basis: z.enum(['final', 'so-far']), hourlyPrice: z.number()})
    .nullable()
    .describe("duration × the host's price per hour: final once ended, so far while running; null without a price"),
  runtimeEstimateSeconds: z.number().nullable(),
  eta: isoTime.nullable().describe('when the job should end by its runtime estimate; null without one or before it starts'),
  ...schedulerFields,
})

/** status and list: the CLI prints the array itself; a tool's structured result is an object. */
export const jobListShape = z.object({
  jobs: z.array(jobShape).describe('newest first; each element exactly as orch list --json prints it'),
  total: z.number().describe('jobs matching before limit'),
})

export const stopShape = z.object({
  name: z.string(),
  state: z.enum(['STOPPED', 'DONE', 'FAILED']),
  exitCode: z.number().nullable(),
  alreadyFinished: z.boolean().describe('the job had already ended; nothing was done'),
  host: z.string(),
})

export const logPageShape = z.object({
  name: z.string(),
  fromOffset: z.number().describe('byte offset in run.log this page starts at'),
  nextOffset: z.number().describe('pass as fromOffset for the next page'),
  size: z.number().describe("run.log's size when read"),
  text: z.string(),
  state: z.enum(STATE_NAMES),
  finished: z.boolean().describe('the job ended and this page reaches the end of its log: stop paging'),
  exitCode: z.number().nullable().describe('N of [EXIT: N] once the job has one'),
  reason: z.string().nullable(),
})

const ERROR_CODES = Object.keys(EXIT_CODES).filter((code) => code !== 'ok') as [ErrorDocument['error']['code'], ...ErrorDocument['error']['code'][]]

export const errorShape = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES).describe("the error's row in the exit-code table"),
    message: z.string(),
    hint: z.string().nullable().describe('what to do next'),
    exitCode: z.number().describe('the exit status orch would end with'),
  }),
})

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Expect<T extends true> = T
export type ShapesMatchTheirTypes = [
  Expect<Same<z.infer<typeof routeShape>, RouteAnswer>>,
  Expect<Same<z.infer<typeof runShape>, RunOutcome>>,
  Expect<Same<z.infer<typeof jobShape>, JobRecord>>,
  Expect<Same<z.infer<typeof stopShape>, StopOutcome>>,
  Expect<Same<z.infer<typeof logPageShape>, LogPage>>,
  Expect<Same<z.infer<typeof errorShape>, ErrorDocument>>,
]
