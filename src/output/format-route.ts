import {type CostEstimate, formatMoney} from '../routing/cost.js'
import {formatDuration} from '../config/units.js'
import type {RouteResult} from '../routing/route.js'
import {style} from './style.js'

export function formatRoute(result: RouteResult & Partial<CostEstimate>): string {
  const target = result.target === 'cloud' ? style().cyan.bold('cloud') : style().green.bold('local')
  const lines = [target]
  for (const reason of result.reasons) {
    const tag = reason.inferred ? style().dim(' [inferred]') : ''
    lines.push(`  - ${reason.message}${tag}`)
  }
  if (result.estimatedCost !== undefined && result.target === 'cloud') lines.push(`  ${formatEstimate(result)}`)
  return lines.join('\n')
}

/** "cost: ~1.92 USD (0.192 USD/h × 10m, ORCH_HOURLY_PRICE)", or why it is unknown. */
export function formatEstimate(estimate: Partial<CostEstimate>): string {
  const cost = estimate.estimatedCost
  if (!cost) return `cost: unknown (${estimate.estimatedCostReason ?? 'no estimate'})`
  if (cost.basis === 'local') return 'cost: none (runs on this machine)'
  return `cost: ~${formatMoney(cost.amount, cost.currency)} (${formatMoney(cost.hourlyPrice, cost.currency)}/h × ${formatDuration((cost.runtimeEstimateSeconds ?? 0) * 1000)}, ${cost.basis})`
}

