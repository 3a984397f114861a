import type {CronOutcome} from '../jobs/cron-lines.js'
import type {PruneOutcome} from '../jobs/prune-jobs.js'
import type {RollbackPlan} from '../jobs/rollback-job.js'
import {formatSize} from '../config/units.js'

export function formatPrune(outcomes: readonly PruneOutcome[]): string {
  return outcomes
    .map((outcome) => {
      const verb = outcome.dryRun ? 'would delete' : 'deleted'
      const lines = outcome.deleted.map((job) => `  ${verb} ${job.name} (${formatSize(job.bytes)})`)
      const summary = `${outcome.where === 'local' ? 'local' : outcome.host}: ${outcome.dryRun ? 'would prune' : 'pruned'} ${outcome.deleted.length} job(s) older than ${outcome.olderThanDays} days, ${outcome.dryRun ? 'freeing' : 'freed'} ${formatSize(outcome.bytesFreed)}`
      return [summary, ...lines].join('\n')
    })
    .join('\n')
}

export function formatCron(outcome: CronOutcome): string {
  const head = outcome.action === 'show' ? `${outcome.host} crontab (${outcome.marker}):` : `${outcome.host}: ${outcome.message || outcome.action}`
  return [head, outcome.line ? `  ${outcome.line}` : '  (no line installed)'].join('\n')
}

export function formatRollbackPlan(plan: RollbackPlan): string {
  const lines = [`${plan.name}: reset ${plan.workTree} on ${plan.host} to ${plan.commit.slice(0, 12)}`]
  lines.push(plan.commitsDiscarded.length === 0 ? '  no later commits' : `  drops ${plan.commitsDiscarded.length} later commit(s):`)
  for (const commit of plan.commitsDiscarded) lines.push(`    ${commit}`)
  lines.push(plan.uncommitted.length === 0 ? '  no uncommitted changes' : `  loses ${plan.uncommitted.length} uncommitted change(s):`)
  for (const change of plan.uncommitted) lines.push(`    ${change}`)
  return lines.join('\n')
}
