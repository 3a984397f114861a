/**
 * An EC2 host's on-demand price per hour, from the AWS Price List API (GetProducts): Linux, shared
 * tenancy, no pre-installed software, in the instance's region. The answer is cached for a day
 * beside the instance cache (one JSON file per target), since prices change a few times a year
 * and a Price List call takes a second.
 *
 * `@aws-sdk/client-pricing` is loaded only with `await import(...)`, when no fresh cached price exists.
 */
import type {EC2Client} from '@aws-sdk/client-ec2'
import type {Filter, PricingClient} from '@aws-sdk/client-pricing'
import {createHash} from 'node:crypto'
import {mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {OrchError} from '../errors/errors.js'
import {awsFailure, isAccessDenied} from './aws-errors.js'
import {createEc2Client, describeTarget, regionOf} from './ec2.js'
import {targetCacheKey} from './instance-cache.js'
import {type InstanceConfig, defaultCacheDir, instanceTarget} from './resolve-host.js'
import {SDK_CLIENT_RETRY, type RetryOptions, withRetry} from './retry.js'
import {silenceSdkNodeVersionWarning} from './util.js'

export const PRICE_CACHE_MAX_AGE_MS = 24 * 60 * 60_000
/** A refusal (no permission, no such price) is remembered this long, so that every command does not ask again. */
export const PRICE_FAILURE_MAX_AGE_MS = 60 * 60_000

/** The Price List API answers only in a few regions; us-east-1 serves every region's prices. */
export const PRICING_API_REGION = 'us-east-1'

export interface Ec2Price {
  /** Per hour, in `currency` (the Price List's USD). */
  amount: number
  currency: string
  instanceType: string
  region: string
  /** ISO 8601 time AWS was asked. */
  checkedAt: string
}

export async function createPricingClient(): Promise<PricingClient> {
  const {PricingClient} = await import('@aws-sdk/client-pricing')
  silenceSdkNodeVersionWarning()
  return new PricingClient({...SDK_CLIENT_RETRY, region: PRICING_API_REGION})
}

/** The GetProducts filters for one instance type's on-demand Linux price in a region. */
export function onDemandFilters(instanceType: string, region: string): Filter[] {
  const match = (Field: string, Value: string): Filter => ({Type: 'TERM_MATCH', Field, Value})
  return [
    match('instanceType', instanceType),
    match('regionCode', region),
    match('operatingSystem', 'Linux'),
    match('tenancy', 'Shared'),
    match('preInstalledSw', 'NA'),
    match('capacitystatus', 'Used'),
    match('licenseModel', 'No License required'),
  ]
}

interface PriceDimension {
  unit?: string
  pricePerUnit?: Record<string, string>
}
interface Product {
  terms?: {OnDemand?: Record<string, {priceDimensions?: Record<string, PriceDimension>}>}
}

/** The hourly on-demand price in one Price List product document, or undefined. */
function hourlyOf(document: unknown): {amount: number; currency: string} | undefined {
  const product = (typeof document === 'string' ? JSON.parse(document) : JSON.parse(String(document))) as Product
  for (const offer of Object.values(product.terms?.OnDemand ?? {})) {
    for (const dimension of Object.values(offer.priceDimensions ?? {})) {
      if (dimension.unit !== 'Hrs') continue
      const usd = dimension.pricePerUnit?.USD
      if (usd !== undefined && /^\d+(\.\d+)?$/.test(usd)) return {amount: Number(usd), currency: 'USD'}
    }
  }
  return undefined
}

/** Ask the Price List for an instance type's on-demand hourly price in a region. */
export async function fetchOnDemandPrice(client: PricingClient, instanceType: string, region: string, retry?: RetryOptions): Promise<{amount: number; currency: string}> {
  const {GetProductsCommand} = await import('@aws-sdk/client-pricing')
  const action = `GetProducts for ${instanceType} in ${region}`
  let list: unknown[]
  try {
    const answer = await withRetry(
      () => client.send(new GetProductsCommand({ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v1', Filters: onDemandFilters(instanceType, region), MaxResults: 10})),
      retry,
    )
    list = Array.isArray(answer.PriceList) ? answer.PriceList : []
  } catch (error) {
    throw awsFailure(error, {action, permission: 'pricing:GetProducts'})
  }
  // A product with a zero price (a reserved-capacity placeholder) is never the answer.
  const prices = list.map(hourlyOf).filter((price) => price !== undefined && price.amount > 0)
  if (prices.length === 0) throw new OrchError('cloud', `the AWS Price List has no on-demand Linux price for ${instanceType} in ${region}`, 'set ORCH_HOURLY_PRICE to the host\'s price per hour')
  return prices[0]!
}

function priceCacheFile(dir: string, key: string): string {
  const safe = /^[A-Za-z0-9-]{1,64}$/.test(key) ? key : `key-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`
  return path.join(dir, `price-${safe}.json`)
}

/** A remembered refusal: what AWS said, and when. */
interface PriceFailure {
  error: string
  hint: string | null
  checkedAt: string
}

async function readPriceCache(file: string, now: number): Promise<Ec2Price | PriceFailure | null> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as Partial<Ec2Price> & Partial<PriceFailure>
    if (typeof data.checkedAt !== 'string') return null
    const age = now - Date.parse(data.checkedAt)
    const failed = typeof data.error === 'string'
    // A time in the future (a clock change) is not trusted either, beyond a minute of skew.
    if (!(age <= (failed ? PRICE_FAILURE_MAX_AGE_MS : PRICE_CACHE_MAX_AGE_MS) && age >= -60_000)) return null
    if (failed) return {error: data.error!, hint: typeof data.hint === 'string' ? data.hint : null, checkedAt: data.checkedAt}
    if (typeof data.amount !== 'number' || typeof data.currency !== 'string' || typeof data.instanceType !== 'string' || typeof data.region !== 'string') return null
    return data as Ec2Price
  } catch {
    return null
  }
}

async function writePriceCache(file: string, price: Ec2Price | PriceFailure): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true, mode: 0o700})
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`
  await writeFile(temporary, `${JSON.stringify(price, null, 2)}\n`, {mode: 0o600})
  await rename(temporary, file)
}

export interface Ec2PriceOptions {
  /** Default: the instance cache's directory ($XDG_CACHE_HOME/orch, else ~/.cache/orch). */
  cacheDir?: string
  /** Injected in tests. */
  ec2?: EC2Client
  pricing?: PricingClient
  now?: () => number
  retry?: RetryOptions
}

/**
 * The configured EC2 instance's on-demand price per hour: the cached answer when it is less than a
 * day old, else DescribeInstances (its type and region) and GetProducts, then cached.
 */
export async function ec2HourlyPrice(config: Pick<InstanceConfig, 'ec2InstanceId' | 'ec2Tag' | 'region'>, options: Ec2PriceOptions = {}): Promise<Ec2Price> {
  const target = instanceTarget({...config, ec2UsePrivateIp: false, port: 22})
  const now = options.now ?? Date.now
  const file = priceCacheFile(options.cacheDir ?? defaultCacheDir(), `${targetCacheKey(target)}${config.region ? `@${config.region}` : ''}`)
  const cached = await readPriceCache(file, now())
  if (cached && 'error' in cached) throw new OrchError('cloud', `${cached.error} (remembered from ${cached.checkedAt})`, cached.hint ?? undefined)
  if (cached) return cached
  let price: Ec2Price
  try {
    const ec2 = options.ec2 ?? (await createEc2Client(config.region))
    const info = await describeTarget(ec2, target, {retry: options.retry})
    if (!info.instanceType) throw new OrchError('cloud', `AWS did not say the instance type of ${info.instanceId}`, 'set ORCH_HOURLY_PRICE to the host\'s price per hour')
    const region = config.region ?? (await regionOf(ec2))
    if (!region) throw new OrchError('config', 'no AWS region to look the price up in', 'set AWS_REGION (or ORCH_HOURLY_PRICE)')
    const pricing = options.pricing ?? (await createPricingClient())
    const hourly = await fetchOnDemandPrice(pricing, info.instanceType, region, options.retry)
    price = {...hourly, instanceType: info.instanceType, region, checkedAt: new Date(now()).toISOString()}
  } catch (error) {
    // A refusal (no permission; no price for the type) stays one for a while. Anything else (the
    // network, throttling, credentials that a login may fix) is asked again next time.
    const cause = (error as {cause?: unknown}).cause
    if (error instanceof OrchError && (cause === undefined ? error.kind === 'cloud' : isAccessDenied(cause))) {
      await writePriceCache(file, {error: error.message, hint: error.hint ?? null, checkedAt: new Date(now()).toISOString()}).catch(() => {})
    }
    throw error
  }
  await writePriceCache(file, price).catch(() => {
    // A cache that cannot be written only costs a Price List call next time.
  })
  return price
}
