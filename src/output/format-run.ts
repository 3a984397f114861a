import type {RunOutcome} from '../sites/run-job.js'
import type {ShipOutcome} from '../sites/ship-job.js'
import type {StopOutcome} from '../jobs/stop-job.js'
import {colourState} from './format-state.js'
import {style} from './style.js'

export function formatStarted(outcome: RunOutcome, waiting: boolean): string {
  const where = outcome.scheduler === 'slurm' ? `${outcome.host}, a Slurm batch job` : outcome.host
  const lines = [`${style().bold(outcome.name)} ${colourState(outcome.state)} on ${where} (${outcome.target}; ${outcome.reasons.map((r) => r.message).join('; ')})`]
  lines.push(`  log:     ${outcome.logPath}`)
  if (outcome.target === 'cloud') {
    if (!waiting) lines.push(`  follow:  orch logs -f ${outcome.name}`)
    if (outcome.scheduler === 'slurm') lines.push(`  status:  orch status (Slurm's reason while it waits)`)
    lines.push(`  attach:  orch attach ${outcome.name}${outcome.scheduler === 'slurm' ? ' (a shell on its node, once it runs)' : ''}`)
    lines.push(`  stop:    orch stop ${outcome.name}`)
  }
  return lines.join('\n')
}

export function formatStop(outcome: StopOutcome): string {
  if (outcome.alreadyFinished) return `${outcome.name} had already finished (${colourState(outcome.state)}, exit ${outcome.exitCode ?? '-'}); nothing to stop`
  return `${outcome.name} ${colourState('STOPPED')} (exit ${outcome.exitCode ?? '-'}) on ${outcome.host}`
}

export function formatShipped(outcome: ShipOutcome): string {
  const pending = outcome.complete ? '' : ' (job still running; ship again later)'
  return `${outcome.name}: ${outcome.eventsSent} event(s) sent in ${outcome.batches} batch(es), ${outcome.skipped} already there → ${outcome.group}/${outcome.stream}${pending}`
}
