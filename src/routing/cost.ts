/**
 * What a job costs: its host's price per hour times how long it runs. Pure arithmetic and the
 * approval rule; where the price comes from (configuration, the AWS Price List) is decided above.
 */
import type {Target} from './profile.js'

/** Where a price per hour came from: `ORCH_HOURLY_PRICE`, the AWS Price List (on-demand), or this machine (free). */
export type PriceBasis = 'ORCH_HOURLY_PRICE' | 'aws-price-list' | 'local'

export interface HourlyPrice {
  amount: number
  currency: string
  basis: PriceBasis
}

/** A price, or why there is none (the sentence shown to a person and given to an agent). */
export type PriceAnswer = {price: HourlyPrice} | {unknown: string}

/** `estimatedCost` in `orch route --json` and `orch run --json`. */
export interface EstimatedCost {
  amount: number
  currency: string
  basis: PriceBasis
  hourlyPrice: number
  /** null only for a local job given no --runtime (it costs nothing either way). */
  runtimeEstimateSeconds: number | null
}

export interface CostEstimate {
  /** null when it cannot be estimated; `estimatedCostReason` then says why. */
  estimatedCost: EstimatedCost | null
  estimatedCostReason: string | null
}

/** Money is shown and compared to the cent's hundredth: a price per hour times seconds has many digits. */
export function roundMoney(amount: number): number {
  return Math.round(amount * 10_000) / 10_000
}

/** The cost of running for `seconds` at `hourly` per hour. */
export function costOf(hourly: number, seconds: number): number {
  return roundMoney((hourly * Math.max(0, seconds)) / 3600)
}

/**
 * Price × runtime estimate. A local job runs on this machine and costs nothing; a cloud job
 * without a runtime estimate or without a price has no estimate, and the reason says which.
 */
export function estimateCost(target: Target, runtimeMs: number | null | undefined, price: PriceAnswer, currency: string): CostEstimate {
  const seconds = runtimeMs === null || runtimeMs === undefined ? null : Math.round(runtimeMs / 1000)
  if (target === 'local') {
    return {estimatedCost: {amount: 0, currency, basis: 'local', hourlyPrice: 0, runtimeEstimateSeconds: seconds}, estimatedCostReason: null}
  }
  if (seconds === null) return {estimatedCost: null, estimatedCostReason: 'no runtime estimate: give --runtime (e.g. --runtime 2h)'}
  if ('unknown' in price) return {estimatedCost: null, estimatedCostReason: price.unknown}
  return {
    estimatedCost: {amount: costOf(price.price.amount, seconds), currency: price.price.currency, basis: price.price.basis, hourlyPrice: price.price.amount, runtimeEstimateSeconds: seconds},
    estimatedCostReason: null,
  }
}

export interface ApprovalPolicy {
  /** Over this amount a job waits for approval; undefined: no limit. */
  maxCost?: number
  /** `unknown`: a job whose cost cannot be estimated waits too. */
  approval: 'over' | 'unknown'
}

/** The gate for one run: a limit given for it (--max-cost) over the configured one, and whether a person approved it in advance (--approve). */
export function approvalFrom(given: {maxCost?: number; approved?: boolean}, config: ApprovalPolicy): ApprovalPolicy & {approved: boolean} {
  return {maxCost: given.maxCost ?? config.maxCost, approval: config.approval, approved: given.approved === true}
}

/** Why a job must wait for a person's yes before it starts, or null when it may start. */
export function approvalNeeded(estimate: CostEstimate, policy: ApprovalPolicy): string | null {
  const cost = estimate.estimatedCost
  if (cost === null) return policy.approval === 'unknown' ? `its cost cannot be estimated (${estimate.estimatedCostReason ?? 'unknown'})` : null
  if (policy.maxCost !== undefined && cost.amount > policy.maxCost) return `its estimated cost ${formatMoney(cost.amount, cost.currency)} is over the limit ${formatMoney(policy.maxCost, cost.currency)}`
  return null
}

/** 12.5 USD → "12.50 USD"; amounts under a cent keep their digits ("0.0042 USD"). */
export function formatMoney(amount: number, currency: string): string {
  const rounded = roundMoney(amount)
  const text = rounded !== 0 && Math.abs(rounded) < 0.01 ? String(rounded) : rounded.toFixed(2)
  return `${text} ${currency}`
}
