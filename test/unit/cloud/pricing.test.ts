/**
 * The AWS Price List call, through the real SDK client with aws-sdk-client-mock: the exact
 * GetProducts request (service, filters), the price read from the product document, the day-long
 * cache beside the instance cache, and what a failure says.
 */
import {DescribeInstancesCommand, EC2Client} from '@aws-sdk/client-ec2'
import {GetProductsCommand, PricingClient} from '@aws-sdk/client-pricing'
import {mockClient} from 'aws-sdk-client-mock'
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createEc2Client} from '../../../src/cloud/ec2.js'
import {PRICE_CACHE_MAX_AGE_MS, PRICE_FAILURE_MAX_AGE_MS, createPricingClient, ec2HourlyPrice, fetchOnDemandPrice} from '../../../src/cloud/pricing.js'
import {OrchError} from '../../../src/errors/errors.js'

const ID = 'i-0123456789abcdef0'
const ec2Mock = mockClient(EC2Client)
const pricingMock = mockClient(PricingClient)
const NOW = Date.parse('2026-02-16T12:00:00.000Z')
const NO_WAIT = {attempts: 2, sleep: async () => {}}

/** One Price List product document as GetProducts returns it (a JSON string), trimmed to what matters. */
const product = (usd: string, unit = 'Hrs') =>
  JSON.stringify({
    product: {productFamily: 'Compute Instance', attributes: {instanceType: 't3.large', regionCode: 'eu-central-1', operatingSystem: 'Linux'}},
    terms: {
      OnDemand: {
        'ABC.JRTCKXETXF': {
          priceDimensions: {'ABC.JRTCKXETXF.6YS6EN2CT7': {unit, pricePerUnit: {USD: usd}, description: `$${usd} per On Demand Linux t3.large Instance Hour`}},
        },
      },
    },
  })

const EXPECTED_REQUEST = {
  ServiceCode: 'AmazonEC2',
  FormatVersion: 'aws_v1',
  MaxResults: 10,
  Filters: [
    {Type: 'TERM_MATCH', Field: 'instanceType', Value: 't3.large'},
    {Type: 'TERM_MATCH', Field: 'regionCode', Value: 'eu-central-1'},
    {Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Linux'},
    {Type: 'TERM_MATCH', Field: 'tenancy', Value: 'Shared'},
    {Type: 'TERM_MATCH', Field: 'preInstalledSw', Value: 'NA'},
    {Type: 'TERM_MATCH', Field: 'capacitystatus', Value: 'Used'},
    {Type: 'TERM_MATCH', Field: 'licenseModel', Value: 'No License required'},
  ],
}

let cacheDir: string
let ec2: EC2Client
let pricing: PricingClient

beforeEach(async () => {
  ec2Mock.reset()
  pricingMock.reset()
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'orch-pricing-'))
  ec2 = await createEc2Client('eu-central-1')
  pricing = await createPricingClient()
  ec2Mock.on(DescribeInstancesCommand).resolves({Reservations: [{Instances: [{InstanceId: ID, State: {Name: 'stopped'}, InstanceType: 't3.large'}]}]})
})

afterEach(async () => {
  await rm(cacheDir, {recursive: true, force: true})
})

describe('fetchOnDemandPrice', () => {
  it('sends exactly one GetProducts for the on-demand Linux price of the type in the region, and reads the hourly USD price', async () => {
    pricingMock.on(GetProductsCommand).resolves({FormatVersion: 'aws_v1', PriceList: [product('0.0864')]})
    await expect(fetchOnDemandPrice(pricing, 't3.large', 'eu-central-1', NO_WAIT)).resolves.toEqual({amount: 0.0864, currency: 'USD'})
    const calls = pricingMock.commandCalls(GetProductsCommand)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.args[0].input).toEqual(EXPECTED_REQUEST)
  })

  it('the Price List API is asked in us-east-1, which serves every region', async () => {
    expect(await pricing.config.region()).toBe('us-east-1')
  })

  it('skips zero-priced and non-hourly products; none left is a cloud error that says to set ORCH_HOURLY_PRICE', async () => {
    pricingMock.on(GetProductsCommand).resolves({PriceList: [product('0.0000000000'), product('1.5', 'Quantity'), product('0.1')]})
    await expect(fetchOnDemandPrice(pricing, 't3.large', 'eu-central-1', NO_WAIT)).resolves.toEqual({amount: 0.1, currency: 'USD'})
    pricingMock.on(GetProductsCommand).resolves({PriceList: []})
    const error = await fetchOnDemandPrice(pricing, 't3.large', 'eu-central-1', NO_WAIT).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OrchError)
    expect(error).toMatchObject({kind: 'cloud', message: 'the AWS Price List has no on-demand Linux price for t3.large in eu-central-1', hint: "set ORCH_HOURLY_PRICE to the host's price per hour"})
  })

  it('access denied names the permission', async () => {
    pricingMock.on(GetProductsCommand).rejects(Object.assign(new Error('not allowed'), {name: 'AccessDeniedException', $metadata: {httpStatusCode: 400}}))
    await expect(fetchOnDemandPrice(pricing, 't3.large', 'eu-central-1', NO_WAIT)).rejects.toMatchObject({kind: 'cloud', message: expect.stringContaining('pricing:GetProducts')})
  })
})

describe('ec2HourlyPrice', () => {
  const config = {ec2InstanceId: ID, region: 'eu-central-1'}

  it('the instance type from DescribeInstances, the price from GetProducts; then a day from the cache (0600) without asking AWS', async () => {
    pricingMock.on(GetProductsCommand).resolves({PriceList: [product('0.0864')]})
    let now = NOW
    const options = {cacheDir, ec2, pricing, now: () => now, retry: NO_WAIT}
    const first = await ec2HourlyPrice(config, options)
    expect(first).toEqual({amount: 0.0864, currency: 'USD', instanceType: 't3.large', region: 'eu-central-1', checkedAt: new Date(NOW).toISOString()})
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input).toEqual({InstanceIds: [ID]})
    const [file] = await readdir(cacheDir)
    expect(file).toMatch(/^price-.*\.json$/)
    expect(JSON.parse(await readFile(path.join(cacheDir, file!), 'utf8'))).toEqual(first)

    now = NOW + PRICE_CACHE_MAX_AGE_MS - 1000
    expect(await ec2HourlyPrice(config, options)).toEqual(first)
    expect(pricingMock.commandCalls(GetProductsCommand)).toHaveLength(1)
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1)

    // A day old: asked again.
    now = NOW + PRICE_CACHE_MAX_AGE_MS + 1000
    pricingMock.on(GetProductsCommand).resolves({PriceList: [product('0.096')]})
    expect(await ec2HourlyPrice(config, options)).toMatchObject({amount: 0.096})
    expect(pricingMock.commandCalls(GetProductsCommand)).toHaveLength(2)
  })

  it('a refusal (no permission) is remembered for an hour: no AWS call meanwhile; then asked again', async () => {
    pricingMock.on(GetProductsCommand).rejects(Object.assign(new Error('not allowed'), {name: 'AccessDeniedException', $metadata: {httpStatusCode: 400}}))
    let now = NOW
    const options = {cacheDir, ec2, pricing, now: () => now, retry: NO_WAIT}
    await expect(ec2HourlyPrice(config, options)).rejects.toMatchObject({message: expect.stringContaining('pricing:GetProducts is missing')})
    now = NOW + PRICE_FAILURE_MAX_AGE_MS - 1000
    await expect(ec2HourlyPrice(config, options)).rejects.toMatchObject({kind: 'cloud', message: expect.stringMatching(/pricing:GetProducts is missing .*\(remembered from 2026-02-16T12:00:00\.000Z\)$/)})
    expect(pricingMock.commandCalls(GetProductsCommand)).toHaveLength(1)
    now = NOW + PRICE_FAILURE_MAX_AGE_MS + 1000
    pricingMock.on(GetProductsCommand).resolves({PriceList: [product('0.0864')]})
    expect(await ec2HourlyPrice(config, options)).toMatchObject({amount: 0.0864})
  })

  it('a target by tag has its own cache entry; a failed lookup AWS may answer next time (unavailable) caches nothing', async () => {
    pricingMock.on(GetProductsCommand).rejects(Object.assign(new Error('down'), {name: 'ServiceUnavailableException', $metadata: {httpStatusCode: 503}}))
    const options = {cacheDir, ec2, pricing, now: () => NOW, retry: NO_WAIT}
    await expect(ec2HourlyPrice({ec2Tag: {key: 'Name', value: 'orch'}, region: 'eu-central-1'}, options)).rejects.toBeInstanceOf(OrchError)
    expect(await readdir(cacheDir)).toEqual([])
    expect(pricingMock.commandCalls(GetProductsCommand)).toHaveLength(2)
  })
})
