/**
 * The MCP tools: each is the CLI command of the same name, reached without a process. Inputs are
 * the command's own flags (camelCase), checked by the same parsers, so a bad value is refused with
 * the message the CLI gives; results are the values the commands print under --json, from the same
 * core functions (the schemas in shapes.ts are checked against their types).
 */
import {z} from 'zod'

import {type FlagDef, values} from '../cli/flags.js'
import {whereFlag} from '../cli/host-flags.js'
import {type ProfileFlagValues, profileFlags, profileFromFlags} from '../cli/profile-flags.js'
import {type GuardrailFlagValues, guardrailFlags, guardrailsFrom, jobEnvironment} from '../cli/run-options.js'
import {syncFlags, syncSourceFromFlags} from '../cli/sync-flags.js'
import {cloudwatchWanted, loadConfig} from '../config/config.js'
import {DURATION_FORMS} from '../config/units.js'
import {usageError} from '../errors/errors.js'
import {type JobEntry} from '../jobs/list-jobs.js'
import {JOB_NAME_FORM, stampJobName, validateJobName} from '../jobs/names.js'
import {HEAVY_KINDS} from '../routing/profile.js'
import {routeWithCost} from '../sites/host-price.js'
import {listJobsAt, stopNamedJob} from '../sites/job-commands.js'
import {runJob} from '../sites/run-job.js'
import {readJobLogPage} from '../sites/show-log.js'
import {silentProgress} from '../terminal/progress.js'
import {jobListShape, logPageShape, routeShape, runShape, stopShape} from './shapes.js'

export interface ToolContext {
  /** Aborted when the call is cancelled or the server is ending: a waiting call answers now. */
  signal: AbortSignal
  /** A line for the server's log (stderr). */
  note: (line: string) => void
}

export interface Tool {
  name: string
  title: string
  description: string
  input: z.ZodObject
  output: z.ZodObject
  annotations: {readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean}
  /** The value `orch <name> --json` prints. */
  call(args: Record<string, unknown>, context: ToolContext): Promise<unknown>
  /**
   * The answer's JSON text and structured result, when they are not the value itself: status and
   * list print an array, which a structured result cannot be, and their limit applies here.
   */
  present?(value: unknown, args: Record<string, unknown>): {document: unknown; structured: Record<string, unknown>}
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())

/**
 * Input fields for a command's flags: booleans, a flag's choices (or those its parser accepts, in
 * `choices`) as an enum, repeated flags as arrays, the fields in `numbers` as numbers, every other
 * value as the text the flag takes.
 */
function flagFields(defs: Record<string, FlagDef>, numbers: readonly string[] = [], choices: Record<string, readonly string[]> = {}): Record<string, z.ZodType> {
  const fields: Record<string, z.ZodType> = {}
  for (const [name, def] of Object.entries(defs)) {
    let field: z.ZodType
    if (def.type === 'boolean') field = z.boolean()
    else if (def.multiple) field = z.array(z.string())
    else if (def.options ?? choices[name]) field = z.enum((def.options ?? choices[name]) as [string, ...string[]])
    else if (numbers.includes(name)) field = z.number()
    else field = z.string()
    fields[camel(name)] = field.optional().describe(def.description)
  }
  return fields
}

/** The flag values a command would have parsed from these inputs: each through the flag's own parser. */
function flagValues<T>(defs: Record<string, FlagDef>, args: Record<string, unknown>): T {
  const flags: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(defs)) {
    const value = args[camel(name)]
    if (value === undefined) continue
    const parse = def.type === 'option' && def.parse ? def.parse : (text: string) => text
    if (def.type === 'boolean') flags[name] = value
    else if (def.multiple) flags[name] = (value as unknown[]).map((item) => parse(String(item), camel(name)))
    else flags[name] = parse(String(value), camel(name))
  }
  return flags as T
}

const READ = {readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true}
const whereInput = {where: flagFields({where: whereFlag}).where!}
const commandInput = z
  .union([z.string().min(1), z.array(z.string()).min(1)])
  .describe('one string: a shell script run exactly as typed ("make && ./test.sh"); an array: a command line whose words are kept as given (["python", "train.py", "--name", "my run"])')
const commandWords = (command: unknown): string[] => (command === undefined ? [] : typeof command === 'string' ? [command] : (command as string[]))
const jobName = z.string().describe(`job name: ${JOB_NAME_FORM}`)

const routeTool: Tool = {
  name: 'route',
  title: 'Decide where a job should run',
  description:
    'Applies the routing rules to a job profile and answers cloud or local with every reason that applied (stable codes). Runs nothing and touches no host. Any cloud condition (runtime over 10m, heavy logs, heavy processing, 2+ parallel jobs, memory over 8G or unknown) wins; local only when short (≤3m), UI-centric and a lightweight check, or a local agent asks. Without profile fields, the command text is used to infer one.',
  input: z.strictObject({...flagFields(profileFlags, ['parallel'], {heavy: HEAVY_KINDS}), command: commandInput.optional()}),
  output: routeShape,
  annotations: {...READ, openWorldHint: false},
  async call(args) {
    return routeWithCost(loadConfig(), profileFromFlags(flagValues<ProfileFlagValues>(profileFlags, args), commandWords(args.command)))
  },
}

const runFlags = {...profileFlags, ...guardrailFlags, ...syncFlags}
const runTool: Tool = {
  name: 'run',
  title: 'Start a job',
  description:
    "Routes the job (unless `where` says), then starts it in a detached tmux session on the cloud host or this machine and returns at once with where it went; it keeps running without this server. Watch it with `logs` (page to `finished`) or `status`; end it with `stop`. A name in use by an unfinished job, or of an earlier job whose log is kept, is refused (use `stamp` or `replace`). Output goes to ~/logs/NAME/run.log on the job's host, ending with [EXIT: N].",
  input: z.strictObject({
    name: jobName,
    command: commandInput,
    where: z.enum(['auto', 'cloud', 'local']).optional().describe('override the routing decision (default auto)'),
    cwd: z.string().optional().describe('working directory on the host (default: the login directory)'),
    env: z.record(z.string(), z.string()).optional().describe("environment variables for the job, NAME: value (values are never shown; prefer passEnv for secrets)"),
    passEnv: z.array(z.string()).optional().describe("names of variables copied from this server's environment into the job's (their values never pass through the conversation)"),
    envFile: z.string().optional().describe("file of NAME=value lines for the job's environment"),
    replace: z.boolean().optional().describe('delete the log of an earlier finished job with this name'),
    stamp: z.boolean().optional().describe('append -YYYYMMDD-HHMM (local time) to the name; the result carries the full name'),
    cloudwatch: z.boolean().optional().describe('ship the log to CloudWatch Logs when the job ends (orch ship)'),
    startTimeout: z.string().optional().describe(`how long to wait for a stopped EC2 instance to start (${DURATION_FORMS}; default 5m)`),
    ...flagFields(runFlags, ['parallel', 'retries', 'backoff', 'max-parallel'], {heavy: HEAVY_KINDS}),
  }),
  output: runShape,
  annotations: {readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true},
  async call(args, context) {
    const name = args.stamp === true ? stampJobName(validateJobName(args.name as string)) : validateJobName(args.name as string)
    const flags = flagValues<ProfileFlagValues & GuardrailFlagValues & {sync?: string; 'remote-dir'?: string; artifacts?: string[]}>(runFlags, args)
    const argv = commandWords(args.command)
    // The server's own configuration: no tool accepts an unknown host key, which is a person's
    // decision (ORCH_ACCEPT_NEW_HOST_KEY where the server starts), not a model's.
    const config = loadConfig()
    const startTimeoutMs = args.startTimeout === undefined ? undefined : values.duration(args.startTimeout as string, 'startTimeout')
    const spec = {
      name,
      argv,
      env: jobEnvironment(args.envFile as string | undefined, [...passedEnv(args.passEnv as string[] | undefined), ...Object.entries((args.env as Record<string, string> | undefined) ?? {}).map(([key, value]) => `${key}=${value}`)]),
      cwd: args.cwd as string | undefined,
      replace: args.replace === true,
      cloudwatch: cloudwatchWanted(config, args.cloudwatch === true),
      guardrails: guardrailsFrom(flags, config),
      artifacts: flags.artifacts,
    }
    const sync = await syncSourceFromFlags(flags)
    return runJob(
      config,
      {spec, profile: profileFromFlags(flags, argv), where: (args.where as 'auto' | 'cloud' | 'local' | undefined) ?? 'auto', wait: false, quiet: true, detached: true, sync, startTimeoutMs},
      {progress: silentProgress, started: () => {}, write: () => {}, warn: (message) => context.note(`orch: ${message}`)},
    )
  },
}

/** NAME=value for each name, from this server's environment; a name it does not have is refused. */
function passedEnv(names: readonly string[] | undefined): string[] {
  return (names ?? []).map((name) => {
    const value = process.env[name]
    if (value === undefined) throw usageError(`passEnv ${JSON.stringify(name)} is not set in the orch mcp server's environment`, 'set it where the server starts, or pass it in env')
    return `${name}=${value}`
  })
}

const listInput = z.strictObject({
  name: z.string().optional().describe('only jobs of this name; * matches any characters (lros-*)'),
  limit: z.number().int().min(1).optional().describe('at most this many jobs (the newest)'),
  ...whereInput,
})

function listTool(name: 'status' | 'list'): Tool {
  return {
    name,
    title: name === 'status' ? 'Unfinished jobs' : 'Every job in history',
    description:
      name === 'status'
        ? 'Jobs not finished (QUEUED with its queue position, STARTING, RUNNING) on this machine and the cloud host, newest first; each exactly as orch status --json prints it.'
        : 'Every job in history (the log directories) on this machine and the cloud host, newest first, with state, exit code and times; each exactly as orch list --json prints it.',
    input: listInput,
    output: jobListShape,
    annotations: READ,
    async call(args) {
      const matches = nameFilter(args.name as string | undefined)
      const jobs = await listJobsAt(loadConfig(), args.where as 'local' | 'cloud' | undefined, {unfinishedOnly: name === 'status'})
      return jobs.filter((job) => matches(job.name))
    },
    present(value, args) {
      const jobs = (value as JobEntry[]).slice(0, (args.limit as number | undefined) ?? Infinity)
      return {document: jobs, structured: {jobs, total: (value as JobEntry[]).length}}
    },
  }
}

/** A job name, or a pattern of name characters and *. */
function nameFilter(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true
  if (!/^[A-Za-z0-9_*-]{1,64}$/.test(pattern)) throw usageError(`name filter ${JSON.stringify(pattern)} is not a job name or a pattern`, `use ${JOB_NAME_FORM}, with * for any characters`)
  const regex = new RegExp(`^${pattern.replaceAll('*', '.*')}$`)
  return (name) => regex.test(name)
}

const MAX_PAGE = 1024 * 1024
const MAX_WAIT_SECONDS = 50

const logsTool: Tool = {
  name: 'logs',
  title: "Read a page of a job's log",
  description: `One page of ~/logs/NAME/run.log: text from fromOffset (or the last \`tail\` lines) up to maxBytes, with nextOffset for the next page. Page until \`finished\` (the job ended and the page reached the end of the log; its last line is [EXIT: N] and exitCode is N). waitSeconds (at most ${MAX_WAIT_SECONDS}) waits for new output or the end instead of answering at once, so polling a running job needs no sleeps of your own.`,
  input: z.strictObject({
    name: jobName,
    fromOffset: z.number().int().min(0).optional().describe('byte offset to start at: 0, or the nextOffset of the previous page'),
    tail: z.number().int().min(0).optional().describe('start with the last N lines instead of fromOffset'),
    maxBytes: z.number().int().min(1).max(MAX_PAGE).optional().describe('at most this many bytes of log (default 65536)'),
    waitSeconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe('wait up to this long for output past fromOffset or for the job to end (default 0: answer at once)'),
    ...whereInput,
  }),
  output: logPageShape,
  annotations: READ,
  async call(args, context) {
    const name = validateJobName(args.name as string)
    if (args.fromOffset !== undefined && args.tail !== undefined) throw usageError('fromOffset and tail cannot both be given', 'page with fromOffset, or start with the last lines with tail')
    return readJobLogPage(loadConfig(), name, args.where as 'local' | 'cloud' | undefined, {
      fromOffset: args.fromOffset as number | undefined,
      tailLines: args.tail as number | undefined,
      maxBytes: (args.maxBytes as number | undefined) ?? 65_536,
      waitSeconds: Math.round((args.waitSeconds as number | undefined) ?? 0),
      signal: context.signal,
    })
  },
}

const stopTool: Tool = {
  name: 'stop',
  title: 'Stop a job',
  description: "Ends the job: TERM to its processes, KILL after `grace` seconds; its state becomes STOPPED and its log still ends with [EXIT: N] (143 after TERM, 137 after KILL). A job that already ended is left as it is (alreadyFinished). A queued job never starts.",
  input: z.strictObject({
    name: jobName,
    grace: z.number().int().min(0).optional().describe('seconds to wait after TERM before KILL (default 10)'),
    ...whereInput,
  }),
  output: stopShape,
  annotations: {readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true},
  async call(args) {
    const name = validateJobName(args.name as string)
    return stopNamedJob(loadConfig(), name, {where: args.where as 'local' | 'cloud' | undefined, graceSeconds: (args.grace as number | undefined) ?? 10})
  },
}

export const TOOLS: readonly Tool[] = [routeTool, runTool, listTool('status'), listTool('list'), logsTool, stopTool]
