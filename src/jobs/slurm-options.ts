import {usageError} from '../errors/errors.js'

/** What a Slurm job asks for: the job's profile and flags, and the cluster's settings. */
export interface SlurmRequest {
  /** The memory estimate (orch run --memory), bytes. */
  memoryBytes?: number
  /** The runtime estimate (orch run --runtime), ms. */
  runtimeMs?: number
  cpus?: number
  gpus?: number
  /** --partition, else ORCH_SLURM_PARTITION. */
  partition?: string
  /** ORCH_SLURM_ACCOUNT. */
  account?: string
  /** ORCH_SLURM_OPTS, as written. */
  optionsText?: string
  /** --sbatch-opt, each one option. */
  options?: readonly string[]
}

/**
 * The time limit asked of Slurm for a runtime estimate: half as long again, rounded up to whole
 * minutes, at least one. An estimate is a guess; Slurm ends a job at its limit (TIMEOUT).
 */
export const TIME_LIMIT_FACTOR = 1.5

export function timeLimitMinutes(runtimeMs: number): number {
  return Math.max(1, Math.ceil((runtimeMs * TIME_LIMIT_FACTOR) / 60_000))
}

/** sbatch options orch sets itself: a job is one batch job named after it, writing into its directory. */
const OWNED = new Map<string, string>([
  ['-J', 'the job name is orch\'s NAME'],
  ['--job-name', 'the job name is orch\'s NAME'],
  ['-o', 'output goes to the job\'s run.log'],
  ['--output', 'output goes to the job\'s run.log'],
  ['-e', 'output goes to the job\'s run.log'],
  ['--error', 'output goes to the job\'s run.log'],
  ['--open-mode', 'output goes to the job\'s run.log'],
  ['-D', 'give the working directory with orch run --cwd'],
  ['--chdir', 'give the working directory with orch run --cwd'],
  ['--parsable', 'orch reads the job id itself'],
  ['--wrap', 'the command goes after --'],
  ['-a', 'one orch job is one Slurm job'],
  ['--array', 'one orch job is one Slurm job'],
  ['-W', 'follow the job with orch run --wait'],
  ['--wait', 'follow the job with orch run --wait'],
])

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/

/** One extra sbatch option, checked: an option (starting with -), one word, not one orch sets. */
function checkOption(option: string, source: string): string {
  if (!option.startsWith('-') || /[\s'"\\]/.test(option)) {
    throw usageError(`${source} "${option}" is not an sbatch option`, 'give options such as --qos=long or --constraint=a100, one word each (--opt=value)')
  }
  const key = option.startsWith('--') ? option.split('=')[0]! : option.slice(0, 2)
  const why = OWNED.get(key)
  if (why !== undefined) throw usageError(`${source} "${option}" is set by orch`, `leave it out: ${why}`)
  return option
}

/** The sbatch options of a job, every value checked before anything is submitted. */
export function sbatchOptions(request: SlurmRequest): string[] {
  const options: string[] = []
  if (request.partition !== undefined) {
    if (!request.partition.split(',').every((part) => NAME.test(part))) throw usageError(`partition "${request.partition}" is not a Slurm partition name`, 'use the name sinfo shows (letters, digits, - _ .), or several separated by commas')
    options.push(`--partition=${request.partition}`)
  }
  if (request.account !== undefined) {
    if (!NAME.test(request.account)) throw usageError(`ORCH_SLURM_ACCOUNT "${request.account}" is not a Slurm account name`, 'use the name sacctmgr or your cluster\'s admin gives (letters, digits, - _ .)')
    options.push(`--account=${request.account}`)
  }
  if (request.cpus !== undefined) options.push(`--cpus-per-task=${request.cpus}`)
  if (request.gpus !== undefined) options.push(`--gpus=${request.gpus}`)
  if (request.memoryBytes !== undefined) options.push(`--mem=${Math.max(1, Math.ceil(request.memoryBytes / 1_048_576))}M`)
  if (request.runtimeMs !== undefined) options.push(`--time=${timeLimitMinutes(request.runtimeMs)}`)
  for (const word of (request.optionsText ?? '').split(/\s+/).filter(Boolean)) options.push(checkOption(word, 'ORCH_SLURM_OPTS option'))
  for (const option of request.options ?? []) options.push(checkOption(option, '--sbatch-opt'))
  return options
}

/** sbatch's refusal as one line: its first error, without the "sbatch: error: " prefix. */
export function sbatchRefusal(output: string): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean)
  const first = lines.find((line) => /error:/i.test(line)) ?? lines[0] ?? 'no reason given'
  return first.replace(/^sbatch:\s*error:\s*/i, '')
}
