/**
 * The EC2 host lifecycle: find the configured instance (by id or by one tag), start it when it is
 * stopped, wait until it runs, pick the address to SSH to, and stop it.
 *
 * `@aws-sdk/client-ec2` is only ever loaded with `await import(...)` inside these functions (the
 * type imports below are erased at compile time), so commands that never touch EC2 — `orch route`
 * above all — do not pay for loading the SDK.
 */
import type {EC2Client, DescribeInstancesCommandInput, Instance} from '@aws-sdk/client-ec2'

import {OrchError, configError, usageError} from '../errors/errors.js'
import {awsErrorName, awsFailure, withCause} from './aws-errors.js'
import {SDK_CLIENT_RETRY, retryingClient, withRetry, type RetryOptions} from './retry.js'
import {formatDuration, realSleep, silenceSdkNodeVersionWarning, type Sleep} from './util.js'

export {waitForSsh, type WaitForSshOptions} from './wait-for-ssh.js'

export const INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const
export type InstanceState = (typeof INSTANCE_STATES)[number]

export interface InstanceInfo {
  instanceId: string
  state: InstanceState
  instanceType: string | null
  publicDnsName: string | null
  privateIp: string | null
  publicIp: string | null
  launchTime: Date | null
  /** Why the instance is in its state, when AWS says (e.g. "Client.UserInitiatedShutdown: ..."). */
  stateReason: string | null
}

/** The configured instance: its id, or one tag that exactly one live instance carries. */
export interface Ec2Target {
  instanceId?: string
  tag?: {key: string; value: string}
}

export const DEFAULT_START_TIMEOUT_MS = 5 * 60_000
export const DEFAULT_POLL_MS = 5_000

/** States the tag lookup considers (terminated and shutting-down instances are never picked). */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped']

const SET_TARGET_HINT = 'set ORCH_EC2_INSTANCE_ID=i-… or ORCH_EC2_TAG=key=value'

export async function createEc2Client(region?: string): Promise<EC2Client> {
  const {EC2Client} = await import('@aws-sdk/client-ec2')
  silenceSdkNodeVersionWarning()
  return new EC2Client({...SDK_CLIENT_RETRY, ...(region ? {region} : {})})
}

/** Parse `ORCH_EC2_TAG` ("key=value"; the value may itself contain "="). */
export function parseEc2Tag(spec: string): {key: string; value: string} {
  const at = spec.indexOf('=')
  const key = at > 0 ? spec.slice(0, at).trim() : ''
  if (!key) throw usageError(`invalid EC2 tag "${spec}": expected key=value`, 'write it as e.g. ORCH_EC2_TAG=Name=orch-host')
  return {key, value: spec.slice(at + 1)}
}

/** "instance i-0abc" or "instance tagged Name=orch" — how messages name the target. */
export function describeTargetLabel(target: Ec2Target): string {
  if (target.instanceId) return `instance ${target.instanceId}`
  if (target.tag) return `instance tagged ${target.tag.key}=${target.tag.value}`
  return 'EC2 instance'
}

export interface DescribeOptions {
  retry?: RetryOptions
}

/**
 * Find the target instance. By id: `{InstanceIds: [id]}`. By tag: a `tag:KEY` filter plus an
 * `instance-state-name` filter for live states, and exactly one match is required.
 * A terminated instance is an error (it can never run a job again).
 */
export async function describeTarget(client: EC2Client, target: Ec2Target, options: DescribeOptions = {}): Promise<InstanceInfo> {
  let info: InstanceInfo
  if (target.instanceId) {
    const id = target.instanceId
    let instances: Instance[]
    try {
      instances = await describeAll(client, {InstanceIds: [id]}, options.retry)
    } catch (error) {
      const name = awsErrorName(error)
      if (name === 'InvalidInstanceID.Malformed') {
        throw withCause(configError(`"${id}" is not a valid EC2 instance id`, 'set ORCH_EC2_INSTANCE_ID to an id like i-0123456789abcdef0'), error)
      }
      if (name === 'InvalidInstanceID.NotFound') throw await notFound(client, target, error)
      throw awsFailure(error, {action: `DescribeInstances for ${id}`, permission: 'ec2:DescribeInstances'})
    }
    const instance = instances.find((candidate) => candidate.InstanceId === id) ?? instances[0]
    if (!instance) throw await notFound(client, target)
    info = toInstanceInfo(instance)
  } else if (target.tag) {
    const {key, value} = target.tag
    let instances: Instance[]
    try {
      instances = await describeAll(
        client,
        {
          Filters: [
            {Name: `tag:${key}`, Values: [value]},
            {Name: 'instance-state-name', Values: [...LIVE_STATES]},
          ],
        },
        options.retry,
      )
    } catch (error) {
      throw awsFailure(error, {action: `DescribeInstances for tag ${key}=${value}`, permission: 'ec2:DescribeInstances'})
    }
    if (instances.length === 0) throw await notFound(client, target)
    if (instances.length > 1) {
      const ids = instances.map((instance) => `${instance.InstanceId ?? '?'} (${instance.State?.Name ?? '?'})`).join(', ')
      throw new OrchError(
        'cloud',
        `${instances.length} instances are tagged ${key}=${value}: ${ids}`,
        'set ORCH_EC2_INSTANCE_ID to the one to use, or make the tag unique',
      )
    }
    info = toInstanceInfo(instances[0] as Instance)
  } else {
    throw configError('no EC2 instance configured', SET_TARGET_HINT)
  }
  if (info.state === 'terminated') {
    throw new OrchError('cloud', `instance ${info.instanceId} is terminated and can never run again`, `point orch at another instance: ${SET_TARGET_HINT}`)
  }
  return info
}

/** Every instance DescribeInstances returns for `input`, over all its pages (each page retried on its own). */
async function describeAll(client: EC2Client, input: DescribeInstancesCommandInput, retry: RetryOptions | undefined): Promise<Instance[]> {
  const {paginateDescribeInstances} = await import('@aws-sdk/client-ec2')
  const instances: Instance[] = []
  for await (const page of paginateDescribeInstances({client: retryingClient(client, retry), stopOnSameToken: true}, {...input})) {
    for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []))
  }
  return instances
}

async function notFound(client: EC2Client, target: Ec2Target, cause?: unknown): Promise<OrchError> {
  const region = await regionOf(client)
  const where = region ? ` in ${region}` : ''
  const error = target.instanceId
    ? new OrchError('cloud', `instance ${target.instanceId} not found${where}`, `check ORCH_EC2_INSTANCE_ID and the region (AWS_REGION or your AWS profile)`)
    : new OrchError(
        'cloud',
        `no pending, running, stopping or stopped instance is tagged ${target.tag?.key ?? ''}=${target.tag?.value ?? ''}${where}`,
        'check ORCH_EC2_TAG and the region (AWS_REGION or your AWS profile)',
      )
  return cause === undefined ? error : withCause(error, cause)
}

export async function regionOf(client: EC2Client): Promise<string | undefined> {
  try {
    const region: unknown = await client.config.region()
    return typeof region === 'string' && region ? region : undefined
  } catch {
    return undefined
  }
}

export function toInstanceInfo(instance: Instance): InstanceInfo {
  const stateName = instance.State?.Name
  if (!isInstanceState(stateName)) {
    throw new OrchError('cloud', `instance ${instance.InstanceId ?? '?'} reports an unknown state "${String(stateName)}"`, 'retry in a moment')
  }
  return {
    instanceId: instance.InstanceId ?? '',
    state: stateName,
    instanceType: instance.InstanceType ?? null,
    publicDnsName: instance.PublicDnsName || null,
    privateIp: instance.PrivateIpAddress || null,
    publicIp: instance.PublicIpAddress || null,
    launchTime: instance.LaunchTime ?? null,
    stateReason: instance.StateReason?.Message || null,
  }
}

function isInstanceState(value: unknown): value is InstanceState {
  return typeof value === 'string' && (INSTANCE_STATES as readonly string[]).includes(value)
}

export interface EnsureRunningOptions {
  /** Give up after this long (default 5 min). */
  timeoutMs?: number
  /** Pause between DescribeInstances polls (default 5 s). */
  pollMs?: number
  /** Told the state at every poll (for a spinner with elapsed time). */
  onState?: (state: InstanceState, elapsedMs: number) => void
  /** Injected in tests so waiting takes no time; also used for throttling backoff. */
  sleep?: Sleep
  /** Injected in tests together with sleep (default Date.now). */
  now?: () => number
  /** Backoff for throttled calls (its sleep defaults to `sleep`). */
  retry?: RetryOptions
}

/**
 * Bring the target to `running` and return it (with its addresses):
 * running → return; pending → wait; stopped → StartInstances, then wait;
 * stopping → wait for stopped, then start; shutting-down/terminated → error.
 * Bounded by timeoutMs, with an error naming the instance and its last state.
 */
export async function ensureRunning(client: EC2Client, target: Ec2Target, options: EnsureRunningOptions = {}): Promise<InstanceInfo> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS
  const sleep = options.sleep ?? realSleep
  const now = options.now ?? Date.now
  const retry: RetryOptions = {sleep, ...options.retry}
  const startedAt = now()

  let info = await describeTarget(client, target, {retry})
  let startRequested = false
  let sawPendingAfterStart = false
  for (;;) {
    const elapsed = now() - startedAt
    options.onState?.(info.state, elapsed)
    switch (info.state) {
      case 'running': {
        if (info.publicDnsName || info.publicIp || info.privateIp) return info
        break
      }
      case 'stopped': {
        if (startRequested && sawPendingAfterStart) {
          const reason = info.stateReason ? `: ${info.stateReason}` : ''
          throw new OrchError('cloud', `instance ${info.instanceId} went back to stopped while starting${reason}`, 'fix the cause AWS gives (capacity, EBS/KMS access, limits), then retry')
        }
        await startInstance(client, info, retry)
        startRequested = true
        break
      }
      case 'pending': {
        if (startRequested) sawPendingAfterStart = true
        break
      }
      case 'stopping':
        break
      case 'shutting-down':
      case 'terminated':
        throw new OrchError('cloud', `instance ${info.instanceId} is ${info.state} and can never run again`, `point orch at another instance: ${SET_TARGET_HINT}`)
    }
    const remaining = timeoutMs - (now() - startedAt)
    if (remaining <= 0) {
      const goal = info.state === 'stopping' ? 'stopped, then start it' : 'running'
      throw new OrchError(
        'cloud',
        `instance ${info.instanceId} is still ${info.state} after ${formatDuration(timeoutMs)} (waiting for it to be ${goal})`,
        'retry later, raise --start-timeout, or check it with `orch host status`',
      )
    }
    await sleep(Math.min(pollMs, remaining))
    info = await describeTarget(client, {instanceId: info.instanceId}, {retry})
  }
}

async function startInstance(client: EC2Client, info: InstanceInfo, retry: RetryOptions): Promise<void> {
  const {StartInstancesCommand} = await import('@aws-sdk/client-ec2')
  try {
    await withRetry(() => client.send(new StartInstancesCommand({InstanceIds: [info.instanceId]})), retry)
  } catch (error) {
    const name = awsErrorName(error)
    // Raced with another state change (e.g. it is stopping again): keep polling.
    if (name === 'IncorrectInstanceState') return
    if (name === 'InsufficientInstanceCapacity') {
      throw withCause(
        new OrchError('cloud', `AWS has no spare ${info.instanceType ?? 'instance'} capacity to start ${info.instanceId} right now`, 'retry in a few minutes, or change the instance type'),
        error,
      )
    }
    throw awsFailure(error, {action: `StartInstances for ${info.instanceId}`, permission: 'ec2:StartInstances'})
  }
}

export interface StopResult {
  instanceId: string
  previousState: InstanceState | null
  currentState: InstanceState | null
}

/** StopInstances `{InstanceIds: [id]}`; returns the state change AWS reports. Stopping a stopped instance is fine. */
export async function stopInstance(client: EC2Client, instanceId: string, options: DescribeOptions = {}): Promise<StopResult> {
  const {StopInstancesCommand} = await import('@aws-sdk/client-ec2')
  try {
    const output = await withRetry(() => client.send(new StopInstancesCommand({InstanceIds: [instanceId]})), options.retry)
    const change = output.StoppingInstances?.find((candidate) => candidate.InstanceId === instanceId) ?? output.StoppingInstances?.[0]
    const previous = change?.PreviousState?.Name
    const current = change?.CurrentState?.Name
    return {
      instanceId,
      previousState: isInstanceState(previous) ? previous : null,
      currentState: isInstanceState(current) ? current : null,
    }
  } catch (error) {
    const name = awsErrorName(error)
    if (name === 'IncorrectInstanceState') {
      throw withCause(
        new OrchError('conflict', `instance ${instanceId} cannot be stopped in its current state`, 'wait until it is running (see `orch host status`), then stop it again'),
        error,
      )
    }
    if (name === 'InvalidInstanceID.NotFound' || name === 'InvalidInstanceID.Malformed') {
      throw withCause(new OrchError('cloud', `instance ${instanceId} not found`, 'check ORCH_EC2_INSTANCE_ID and the region (AWS_REGION or your AWS profile)'), error)
    }
    throw awsFailure(error, {action: `StopInstances for ${instanceId}`, permission: 'ec2:StopInstances'})
  }
}

/**
 * The address to SSH to: the public DNS name, else the public IP, else the private IP.
 * With usePrivateIp the private IP is used (a VPN or a host inside the VPC).
 */
export function pickAddress(info: InstanceInfo, usePrivateIp = false): string {
  if (usePrivateIp) {
    if (info.privateIp) return info.privateIp
  } else {
    const address = info.publicDnsName ?? info.publicIp ?? info.privateIp
    if (address) return address
  }
  const what = usePrivateIp ? 'no private IP' : 'no address'
  const hint =
    info.state === 'running'
      ? usePrivateIp
        ? 'unset ORCH_EC2_USE_PRIVATE_IP to use its public address'
        : 'give the instance a public IP (or an Elastic IP), or set ORCH_EC2_USE_PRIVATE_IP=1 when this machine can reach its VPC'
      : 'start it first with `orch host up`'
  throw new OrchError('cloud', `instance ${info.instanceId} (${info.state}) has ${what}`, hint)
}
