import {describe, expect, it} from 'vitest'

import {approvalNeeded, costOf, estimateCost, formatMoney} from '../../../src/routing/cost.js'

const PRICE = {price: {amount: 0.192, currency: 'USD', basis: 'ORCH_HOURLY_PRICE' as const}}

describe('estimateCost', () => {
  it('cloud: price per hour × the runtime estimate, with what it was computed from', () => {
    expect(estimateCost('cloud', 30 * 60_000, PRICE, 'USD')).toEqual({
      estimatedCost: {amount: 0.096, currency: 'USD', basis: 'ORCH_HOURLY_PRICE', hourlyPrice: 0.192, runtimeEstimateSeconds: 1800},
      estimatedCostReason: null,
    })
  })

  it('cloud without a runtime estimate, or without a price: null, and the reason says which', () => {
    expect(estimateCost('cloud', undefined, PRICE, 'USD')).toEqual({estimatedCost: null, estimatedCostReason: 'no runtime estimate: give --runtime (e.g. --runtime 2h)'})
    expect(estimateCost('cloud', 60_000, {unknown: 'no price for the cloud host'}, 'USD')).toEqual({estimatedCost: null, estimatedCostReason: 'no price for the cloud host'})
  })

  it('local: nothing, whatever the price', () => {
    expect(estimateCost('local', 3_600_000, PRICE, 'EUR').estimatedCost).toEqual({amount: 0, currency: 'EUR', basis: 'local', hourlyPrice: 0, runtimeEstimateSeconds: 3600})
  })
})

describe('approvalNeeded', () => {
  const known = estimateCost('cloud', 5 * 3_600_000, {price: {amount: 0.5, currency: 'USD', basis: 'ORCH_HOURLY_PRICE'}}, 'USD')
  const unknown = estimateCost('cloud', undefined, PRICE, 'USD')

  it('over the limit: held, saying by how much; at or under it, or with no limit: not held', () => {
    expect(approvalNeeded(known, {maxCost: 1, approval: 'over'})).toBe('its estimated cost 2.50 USD is over the limit 1.00 USD')
    expect(approvalNeeded(known, {maxCost: 2.5, approval: 'over'})).toBeNull()
    expect(approvalNeeded(known, {approval: 'unknown'})).toBeNull()
  })

  it('an unknown estimate is held only with ORCH_APPROVAL=unknown', () => {
    expect(approvalNeeded(unknown, {maxCost: 1, approval: 'over'})).toBeNull()
    expect(approvalNeeded(unknown, {approval: 'unknown'})).toBe('its cost cannot be estimated (no runtime estimate: give --runtime (e.g. --runtime 2h))')
  })
})

describe('money', () => {
  it('costOf: per second, rounded to a hundredth of a cent; never negative', () => {
    expect(costOf(3.6, 1)).toBe(0.001)
    expect(costOf(0.0416, 3600 * 24)).toBe(0.9984)
    expect(costOf(1, -5)).toBe(0)
  })

  it('formatMoney: two decimals, more under a cent', () => {
    expect(formatMoney(12.5, 'USD')).toBe('12.50 USD')
    expect(formatMoney(0.0042, 'EUR')).toBe('0.0042 EUR')
    expect(formatMoney(0, 'USD')).toBe('0.00 USD')
  })
})
