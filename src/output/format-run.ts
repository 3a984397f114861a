import type {RunOutcome} from '../sites/run-job.js'
import type {ShipOutcome} from '../sites/ship-job.js'
import type {StopOutcome} from '../jobs/stop-job.js'
import type {ApproveOutcome} from '../jobs/approve-job.js'
import {colourState} from './format-state.js'
import {formatEstimate} from './format-route.js'
import {style} from './style.js'

export function formatStarted(outcome: RunOutcome, waiting: boolean): string {
  const where = outcome.scheduler === 'slurm' ? `${outcome.host}, a Slurm batch job` : outcome.host
  const lines = [`${style().bold(outcome.name)} ${colourState(outcome.state)} on ${where} (${outcome.target}; ${outcome.reasons.map((r) => r.message).join('; ')})`]
  lines.push(`  log:     ${outcome.logPath}`)
  if (outcome.target === 'cloud' && outcome.estimatedCost !== undefined) lines.push(`  ${formatEstimate(outcome).replace(/^cost: /, 'cost:    ')}`)
  if (outcome.target === 'cloud') {
    if (!waiting) lines.push(`  follow:  orch logs -f ${outcome.name}`)
    if (outcome.scheduler === 'slurm') lines.push(`  status:  orch status (Slurm's reason while it waits)`)
    lines.push(`  attach:  orch attach ${outcome.name}${outcome.scheduler === 'slurm' ? ' (a shell on its node, once it runs)' : ''}`)
    lines.push(`  stop:    orch stop ${outcome.name}`)
  }
  return lines.join('\n')
}

/** A job held for approval: what it would cost, why it waits, and the commands that decide. */
export function formatHeld(outcome: RunOutcome): string {
  return [
    `${style().bold(outcome.name)} ${colourState('QUEUED')} on ${outcome.host}, waiting for approval: ${outcome.approval?.why ?? 'its cost needs approval'}`,
    `  ${formatEstimate(outcome).replace(/^cost: /, 'cost:    ')}`,
    `  approve: orch approve ${outcome.name}`,
    `  refuse:  orch stop ${outcome.name}`,
  ].join('\n')
}

export function formatStop(outcome: StopOutcome): string {
  if (outcome.alreadyFinished) return `${outcome.name} had already finished (${colourState(outcome.state)}, exit ${outcome.exitCode ?? '-'}); nothing to stop`
  return `${outcome.name} ${colourState('STOPPED')} (exit ${outcome.exitCode ?? '-'}) on ${outcome.host}`
}

export function formatShipped(outcome: ShipOutcome): string {
  const pending = outcome.complete ? '' : ' (job still running; ship again later)'
  return `${outcome.name}: ${outcome.eventsSent} event(s) sent in ${outcome.batches} batch(es), ${outcome.skipped} already there → ${outcome.group}/${outcome.stream}${pending}`
}

export function formatApproved(outcome: ApproveOutcome): string {
  const what = outcome.alreadyApproved ? 'had already been approved' : 'approved'
  return `${outcome.name} ${what} on ${outcome.host}: it starts as soon as a slot is free (follow it: orch logs -f ${outcome.name})`
}
