/**
 * Where a host's price comes from: ORCH_HOURLY_PRICE, else the AWS Price List for an EC2 host (the
 * cloud module is replaced here: its request is tested in test/unit/cloud/pricing.test.ts), else a
 * reason. A price that cannot be had never fails the command.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'

const ec2HourlyPrice = vi.hoisted(() => vi.fn())
vi.mock('../../../src/cloud/pricing.js', () => ({ec2HourlyPrice}))

import {OrchError} from '../../../src/errors/errors.js'
import {estimateJobCost, hourlyPriceFor} from '../../../src/sites/host-price.js'

afterEach(() => ec2HourlyPrice.mockReset())

const EC2 = {ec2InstanceId: 'i-0123456789abcdef0', region: 'eu-central-1', currency: 'USD'}

describe('hourlyPriceFor', () => {
  it('ORCH_HOURLY_PRICE wins, in ORCH_CURRENCY, and AWS is not asked', async () => {
    expect(await hourlyPriceFor({...EC2, hourlyPrice: 0.3, currency: 'EUR'}, 'cloud')).toEqual({price: {amount: 0.3, currency: 'EUR', basis: 'ORCH_HOURLY_PRICE'}})
    expect(ec2HourlyPrice).not.toHaveBeenCalled()
  })

  it('an EC2 host without it: the Price List', async () => {
    ec2HourlyPrice.mockResolvedValue({amount: 0.0864, currency: 'USD', instanceType: 't3.large', region: 'eu-central-1', checkedAt: ''})
    expect(await hourlyPriceFor(EC2, 'cloud')).toEqual({price: {amount: 0.0864, currency: 'USD', basis: 'aws-price-list'}})
  })

  it('no price to be had: a reason, never an error', async () => {
    expect(await hourlyPriceFor({currency: 'USD'}, 'cloud')).toEqual({unknown: 'no price for the cloud host: set ORCH_HOURLY_PRICE (its price per hour)'})
    expect(await hourlyPriceFor({...EC2, currency: 'EUR'}, 'cloud')).toEqual({unknown: 'the AWS Price List gives USD prices but ORCH_CURRENCY is EUR: set ORCH_HOURLY_PRICE'})
    ec2HourlyPrice.mockRejectedValue(new OrchError('cloud', 'AWS refused GetProducts for t3.large in eu-central-1: permission pricing:GetProducts is missing (AccessDeniedException)'))
    expect(await hourlyPriceFor(EC2, 'cloud')).toEqual({
      unknown: 'the AWS Price List could not be read (AWS refused GetProducts for t3.large in eu-central-1: permission pricing:GetProducts is missing (AccessDeniedException)): set ORCH_HOURLY_PRICE to skip it',
    })
  })

  it('local: free, nothing asked', async () => {
    expect(await hourlyPriceFor(EC2, 'local')).toEqual({price: {amount: 0, currency: 'USD', basis: 'local'}})
    expect(ec2HourlyPrice).not.toHaveBeenCalled()
  })
})

describe('estimateJobCost', () => {
  it('without a runtime estimate the Price List is not asked (nothing to multiply)', async () => {
    expect(await estimateJobCost(EC2, 'cloud', null)).toEqual({estimatedCost: null, estimatedCostReason: 'no runtime estimate: give --runtime (e.g. --runtime 2h)'})
    expect(ec2HourlyPrice).not.toHaveBeenCalled()
  })
})
