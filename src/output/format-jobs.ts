import {formatDistanceStrict} from 'date-fns/formatDistanceStrict'
import {formatDistanceToNowStrict} from 'date-fns/formatDistanceToNowStrict'
import stringWidth from 'string-width'

import {formatDuration} from '../config/units.js'
import type {JobEntry} from '../jobs/list-jobs.js'
import {formatMoney} from '../routing/cost.js'
import {colourState} from './format-state.js'
import {style} from './style.js'


/**
 * Columns padded to their widest cell, as a terminal shows them (string-width): colour codes take
 * no room, a CJK character or an emoji two columns, a combining accent none.
 */
export function table(header: string[], rows: string[][]): string {
  const visible = (text: string) => stringWidth(text)
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((row) => visible(row[i] ?? ''))))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
      .join('  ')
      .trimEnd()
  return [style().bold(line(header)), ...rows.map(line)].join('\n')
}

let graphemes: Intl.Segmenter | undefined

/** A command on one line of at most `max` terminal columns: an emoji or an accented letter is never cut in two, a wide character counts two. */
export function oneLine(command: string, max = 50): string {
  const flat = command.replace(/\s*\n\s*/g, ' ⏎ ')
  if (flat.length <= max / 2 || stringWidth(flat) <= max) return flat
  let kept = ''
  let width = 0
  for (const {segment} of (graphemes ??= new Intl.Segmenter()).segment(flat)) {
    const next = stringWidth(segment)
    if (width + next > max - 1) break
    kept += segment
    width += next
  }
  return `${kept}…`
}

/** A service's restarts after its state, as pm2 ls shows them (`RUNNING ↻3`). */
const withRestarts = (job: JobEntry, state: string) => (job.restarts > 0 ? `${state} ↻${job.restarts}` : state)

/** A state, with a QUEUED job's place in the queue or what else it waits for. */
function stateCell(job: JobEntry): string {
  if (job.state === 'QUEUED' && job.waitingFor === 'approval') return `${colourState(job.state)} (approval)`
  return job.state === 'QUEUED' && job.queuePosition ? `${colourState(job.state)} #${job.queuePosition}` : withRestarts(job, colourState(job.state))
}

/** "in 12 minutes", or "over estimate by 5 minutes" once the estimate has passed. */
export function etaCell(job: Pick<JobEntry, 'eta'>, now: Date): string {
  if (!job.eta) return '-'
  const eta = new Date(job.eta)
  return eta.getTime() >= now.getTime() ? formatDistanceStrict(eta, now, {addSuffix: true}) : `over estimate by ${formatDistanceStrict(now, eta)}`
}

function costCell(job: JobEntry): string {
  if (!job.cost) return '-'
  return job.cost.basis === 'final' ? formatMoney(job.cost.amount, job.cost.currency) : `${formatMoney(job.cost.amount, job.cost.currency)} so far`
}

/**
 * Where a job runs: for a Slurm job the login node and the cluster node (once placed), and why it
 * waits or how Slurm ended it.
 */
const slurmColumns = (jobs: readonly JobEntry[]) => jobs.some((job) => job.scheduler === 'slurm')
const slurmCells = (job: JobEntry) => [job.node ?? '-', job.reason ?? '-']

export function formatStatus(jobs: readonly JobEntry[], now = new Date()): string {
  if (jobs.length === 0) return 'no jobs running, starting or queued'
  // The estimate and ETA columns only when some job was given a runtime estimate (orch run --runtime).
  const estimated = jobs.some((job) => job.runtimeEstimateSeconds != null)
  const slurm = slurmColumns(jobs)
  return table(
    ['NAME', 'STATE', 'ELAPSED', ...(estimated ? ['ESTIMATE', 'ETA'] : []), 'WHERE', ...(slurm ? ['NODE', 'REASON'] : []), 'COMMAND'],
    jobs.map((job) => [
      job.name,
      stateCell(job),
      job.startedAt ? formatDistanceStrict(new Date(job.startedAt), now) : job.createdAt ? `${formatDistanceStrict(new Date(job.createdAt), now)} waiting` : '-',
      ...(estimated ? [job.runtimeEstimateSeconds == null ? '-' : formatDuration(job.runtimeEstimateSeconds * 1000), etaCell(job, now)] : []),
      job.target === 'local' ? 'local' : job.host,
      ...(slurm ? slurmCells(job) : []),
      oneLine(job.command),
    ]),
  )
}

export function formatList(jobs: readonly JobEntry[]): string {
  if (jobs.length === 0) return 'no jobs yet (start one with orch run NAME -- COMMAND)'
  // The cost column only when some job had a price recorded (ORCH_HOURLY_PRICE or the AWS Price List).
  const priced = jobs.some((job) => job.cost != null)
  const slurm = slurmColumns(jobs)
  return table(
    ['NAME', 'STATE', 'EXIT', 'STARTED', 'DURATION', ...(priced ? ['COST'] : []), 'WHERE', ...(slurm ? ['NODE', 'REASON'] : []), 'COMMAND'],
    jobs.map((job) => [
      job.name,
      stateCell(job),
      job.exitCode === null ? '-' : String(job.exitCode),
      job.startedAt ? `${formatDistanceToNowStrict(new Date(job.startedAt))} ago` : '-',
      job.startedAt && job.endedAt ? formatDistanceStrict(new Date(job.startedAt), new Date(job.endedAt)) : job.startedAt ? 'running' : '-',
      ...(priced ? [costCell(job)] : []),
      job.target === 'local' ? 'local' : job.host,
      ...(slurm ? slurmCells(job) : []),
      oneLine(job.command),
    ]),
  )
}

