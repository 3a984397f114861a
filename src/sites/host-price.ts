import type {OrchConfig} from '../config/config.js'
import {type CostEstimate, type PriceAnswer, estimateCost} from '../routing/cost.js'
import type {JobProfile, Target} from '../routing/profile.js'
import {type RouteResult, route} from '../routing/route.js'

export type PriceConfig = Pick<OrchConfig, 'hourlyPrice' | 'currency' | 'ec2InstanceId' | 'ec2Tag' | 'region'>

/**
 * What the host a job goes to costs per hour: nothing here (local); ORCH_HOURLY_PRICE when set;
 * else, for an EC2 host, its on-demand price from the AWS Price List (cached for a day, so only
 * the first command of a day pays for the call). Never throws: a price that cannot be had is an
 * answer saying why, and the job is routed and run all the same.
 */
export async function hourlyPriceFor(config: PriceConfig, target: Target): Promise<PriceAnswer> {
  if (target === 'local') return {price: {amount: 0, currency: config.currency, basis: 'local'}}
  if (config.hourlyPrice !== undefined) return {price: {amount: config.hourlyPrice, currency: config.currency, basis: 'ORCH_HOURLY_PRICE'}}
  if (!config.ec2InstanceId && !config.ec2Tag) return {unknown: 'no price for the cloud host: set ORCH_HOURLY_PRICE (its price per hour)'}
  // The Price List answers in USD; mixing it with a limit in another currency would compare nonsense.
  if (config.currency !== 'USD') return {unknown: `the AWS Price List gives USD prices but ORCH_CURRENCY is ${config.currency}: set ORCH_HOURLY_PRICE`}
  try {
    const {ec2HourlyPrice} = await import('../cloud/pricing.js')
    const price = await ec2HourlyPrice(config, {retry: {attempts: 3}})
    return {price: {amount: price.amount, currency: price.currency, basis: 'aws-price-list'}}
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    return {unknown: `the AWS Price List could not be read (${why}): set ORCH_HOURLY_PRICE to skip it`}
  }
}

/** The estimated cost of a job routed to `target` with this runtime estimate. */
export async function estimateJobCost(config: PriceConfig, target: Target, runtimeMs: number | null | undefined): Promise<CostEstimate> {
  // Without a runtime estimate there is nothing to multiply: no Price List call for it.
  if (target === 'cloud' && (runtimeMs === null || runtimeMs === undefined)) return estimateCost(target, runtimeMs, {unknown: ''}, config.currency)
  return estimateCost(target, runtimeMs, await hourlyPriceFor(config, target), config.currency)
}

/** What `orch route --json` and the MCP route tool answer: the decision and its estimated cost. */
export type RouteAnswer = RouteResult & CostEstimate

/** orch route: the routing rules' decision (pure), then the cost of running the job there. */
export async function routeWithCost(config: PriceConfig & Pick<OrchConfig, 'thresholds'>, profile: JobProfile): Promise<RouteAnswer> {
  const decision = route(profile, config.thresholds)
  return {...decision, ...(await estimateJobCost(config, decision.target, decision.profile.runtimeMs))}
}
