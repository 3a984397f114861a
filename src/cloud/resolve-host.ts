/**
 * From configuration to an SSH address: the cached address while the instance is known to be
 * running, else DescribeInstances (starting the instance first when asked, waiting until it runs
 * and its SSH port answers), then the cache is refreshed.
 * Loaded with `await import(...)` by sites/sites.ts, so nothing here costs `orch route` anything.
 */
import {homedir} from 'node:os'
import path from 'node:path'

import type {EC2Client} from '@aws-sdk/client-ec2'

import type {OrchConfig} from '../config/config.js'
import {OrchError, configError} from '../errors/errors.js'
import type {Progress} from '../terminal/progress.js'
import {
  DEFAULT_START_TIMEOUT_MS,
  createEc2Client,
  describeTargetLabel,
  describeTarget,
  ensureRunning,
  pickAddress,
  waitForSsh,
  type Ec2Target,
  type InstanceState,
} from './ec2.js'
import {invalidateCache, readCachedAddress, targetCacheKey, writeCache} from './instance-cache.js'
import {formatDuration, type Sleep} from './util.js'

export type InstanceConfig = Pick<OrchConfig, 'ec2InstanceId' | 'ec2Tag' | 'ec2UsePrivateIp' | 'region' | 'port'>

/** How long a "running at this address" answer is trusted without asking AWS again. */
export const DEFAULT_ADDRESS_CACHE_MS = 10 * 60_000

export interface ResolveInstanceOptions {
  progress?: Progress
  /** Start the instance when it is stopped (orch run, orch host up); otherwise a stopped instance is an error. */
  start?: boolean
  /** Bound on starting plus waiting for SSH (default 5 min; --start-timeout). */
  startTimeoutMs?: number
  /** Default: $XDG_CACHE_HOME/orch, else ~/.cache/orch. */
  cacheDir?: string
  /** Default 10 min; 0 disables reading the cache. */
  cacheMaxAgeMs?: number
  /** Injected in tests. */
  client?: EC2Client
  sleep?: Sleep
  now?: () => number
  pollMs?: number
  /** Also told every state seen while starting (e.g. to mark the job STARTING). */
  onState?: (state: InstanceState, elapsedMs: number) => void
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache')
  return path.join(base, 'orch')
}

export function instanceTarget(config: InstanceConfig): Ec2Target {
  if (config.ec2InstanceId) return {instanceId: config.ec2InstanceId}
  if (config.ec2Tag) return {tag: config.ec2Tag}
  throw configError('no EC2 instance configured', 'set ORCH_EC2_INSTANCE_ID=i-… or ORCH_EC2_TAG=key=value (or ORCH_HOST for a fixed host)')
}

export async function resolveInstanceAddress(config: InstanceConfig, options: ResolveInstanceOptions = {}): Promise<string> {
  const target = instanceTarget(config)
  const key = targetCacheKey(target)
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  const usePrivateIp = config.ec2UsePrivateIp
  const maxAge = options.cacheMaxAgeMs ?? DEFAULT_ADDRESS_CACHE_MS
  if (maxAge > 0) {
    const cached = await readCachedAddress(cacheDir, key, maxAge, {usePrivateIp})
    if (cached) return cached
  }

  const now = options.now ?? Date.now
  const startedAt = now()
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
  const client = options.client ?? (await createEc2Client(config.region))
  let wasDown = false
  let info
  if (options.start) {
    options.progress?.update(`looking up ${describeTargetLabel(target)}`)
    info = await ensureRunning(client, target, {
      timeoutMs,
      pollMs: options.pollMs,
      sleep: options.sleep,
      now,
      onState: (state, elapsed) => {
        if (state !== 'running') wasDown = true
        if (wasDown) options.progress?.update(`starting instance: ${state} (${formatDuration(elapsed)})`)
        options.onState?.(state, elapsed)
      },
    })
  } else {
    info = await describeTarget(client, target)
    if (info.state !== 'running') {
      await invalidateCache(cacheDir, key)
      throw new OrchError('cloud', `instance ${info.instanceId} is ${info.state}, not running`, 'start it with `orch host up` (orch run starts it by itself)')
    }
  }
  const address = pickAddress(info, usePrivateIp)
  if (wasDown) {
    options.progress?.update(`waiting for SSH on ${address}`)
    const left = Math.max(1_000, timeoutMs - (now() - startedAt))
    await waitForSsh(address, config.port, {timeoutMs: left})
  }
  await writeCache(cacheDir, {instanceId: info.instanceId, state: 'running', address, checkedAt: new Date(now()).toISOString(), usePrivateIp}, key).catch(() => {
    // A cache that cannot be written only costs a DescribeInstances next time.
  })
  return address
}

/** Forget the cached address (after stopping the instance, or when connecting to it failed). */
export async function forgetInstanceAddress(config: InstanceConfig, options: {cacheDir?: string} = {}): Promise<void> {
  await invalidateCache(options.cacheDir ?? defaultCacheDir(), targetCacheKey(instanceTarget(config)))
}

