import {formatDistanceStrict} from 'date-fns/formatDistanceStrict'
import {formatDistanceToNowStrict} from 'date-fns/formatDistanceToNowStrict'

import type {JobEntry} from '../jobs/list-jobs.js'
import {colourState} from './format-state.js'
import {style} from './style.js'


/** Columns padded to their widest cell; colour codes do not count towards width. */
export function table(header: string[], rows: string[][]): string {
  const visible = (text: string) => text.replace(/\u001B\[[0-9;]*m/g, '').length
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((row) => visible(row[i] ?? ''))))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
      .join('  ')
      .trimEnd()
  return [style().bold(line(header)), ...rows.map(line)].join('\n')
}

const oneLine = (command: string, max = 50) => {
  const flat = command.replace(/\s*\n\s*/g, ' ⏎ ')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/**
 * Where a job runs: for a Slurm job the login node and the cluster node (once placed), and why it
 * waits or how Slurm ended it.
 */
const slurmColumns = (jobs: readonly JobEntry[]) => jobs.some((job) => job.scheduler === 'slurm')
const slurmCells = (job: JobEntry) => [job.node ?? '-', job.reason ?? '-']

export function formatStatus(jobs: readonly JobEntry[], now = new Date()): string {
  if (jobs.length === 0) return 'no jobs running, starting or queued'
  const slurm = slurmColumns(jobs)
  return table(
    ['NAME', 'STATE', 'ELAPSED', 'WHERE', ...(slurm ? ['NODE', 'REASON'] : []), 'COMMAND'],
    jobs.map((job) => [
      job.name,
      job.state === 'QUEUED' && job.queuePosition ? `${colourState(job.state)} #${job.queuePosition}` : colourState(job.state),
      job.startedAt ? formatDistanceStrict(new Date(job.startedAt), now) : job.createdAt ? `${formatDistanceToNowStrict(new Date(job.createdAt))} waiting` : '-',
      job.target === 'local' ? 'local' : job.host,
      ...(slurm ? slurmCells(job) : []),
      oneLine(job.command),
    ]),
  )
}

export function formatList(jobs: readonly JobEntry[]): string {
  if (jobs.length === 0) return 'no jobs yet (start one with orch run NAME -- COMMAND)'
  const slurm = slurmColumns(jobs)
  return table(
    ['NAME', 'STATE', 'EXIT', 'STARTED', 'DURATION', 'WHERE', ...(slurm ? ['NODE', 'REASON'] : []), 'COMMAND'],
    jobs.map((job) => [
      job.name,
      colourState(job.state),
      job.exitCode === null ? '-' : String(job.exitCode),
      job.startedAt ? `${formatDistanceToNowStrict(new Date(job.startedAt))} ago` : '-',
      job.startedAt && job.endedAt ? formatDistanceStrict(new Date(job.startedAt), new Date(job.endedAt)) : job.startedAt ? 'running' : '-',
      job.target === 'local' ? 'local' : job.host,
      ...(slurm ? slurmCells(job) : []),
      oneLine(job.command),
    ]),
  )
}

