import {
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  StartInstancesCommand,
  StopInstancesCommand,
  type DescribeInstancesCommandOutput,
  type Instance,
} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import {readFileSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {
  createEc2Client,
  describeTarget,
  ensureRunning,
  parseEc2Tag,
  pickAddress,
  stopInstance,
  type InstanceInfo,
  type InstanceState,
} from '../../../src/cloud/ec2.js'
import {OrchError} from '../../../src/errors/errors.js'

const ID = 'i-0123456789abcdef0'
const DNS = 'ec2-3-120-1-2.eu-central-1.compute.amazonaws.com'
const LAUNCH = new Date('2026-02-16T14:30:00Z')

const ec2Mock = mockClient(EC2Client)

function instance(state: InstanceState, overrides: Partial<Instance> = {}): Instance {
  const up = state === 'running' || state === 'pending'
  return {
    InstanceId: ID,
    State: {Name: state, Code: 0},
    InstanceType: 't3.xlarge',
    PublicDnsName: state === 'running' ? DNS : '',
    PublicIpAddress: state === 'running' ? '3.120.1.2' : undefined,
    PrivateIpAddress: '10.0.1.5',
    LaunchTime: up ? LAUNCH : undefined,
    ...overrides,
  }
}

function reply(...instances: Instance[]): DescribeInstancesCommandOutput {
  return {$metadata: {}, Reservations: instances.length ? [{Instances: instances}] : []}
}

function awsError(name: string, message = `${name} (mocked)`, status = 400): EC2ServiceException {
  return new EC2ServiceException({name, $fault: status >= 500 ? 'server' : 'client', $metadata: {httpStatusCode: status}, message})
}

/** A clock that only moves when the code under test sleeps: waits take no real time. */
function fakeClock() {
  let now = 0
  const sleep = vi.fn(async (ms: number) => {
    now += ms
  })
  return {now: () => now, sleep}
}

let client: EC2Client

beforeEach(async () => {
  ec2Mock.reset()
  client = await createEc2Client('eu-central-1')
})

afterEach(() => {
  vi.restoreAllMocks()
})

async function caught(promise: Promise<unknown>): Promise<OrchError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError)
    return error as OrchError
  }
  throw new Error('expected a rejection')
}

const describeInputs = () => ec2Mock.commandCalls(DescribeInstancesCommand).map((call) => call.args[0].input)
const startInputs = () => ec2Mock.commandCalls(StartInstancesCommand).map((call) => call.args[0].input)

describe('createEc2Client', () => {
  it('uses the region given', async () => {
    expect(await client.config.region()).toBe('eu-central-1')
  })

  it('turns the SDK\'s own retries off: withRetry is the one retry policy (retries are not multiplied)', async () => {
    expect(await client.config.maxAttempts()).toBe(1)
  })

  it('falls back to the SDK default chain (AWS_REGION)', async () => {
    vi.stubEnv('AWS_REGION', 'ap-northeast-1')
    try {
      const fromEnv = await createEc2Client()
      expect(await fromEnv.config.region()).toBe('ap-northeast-1')
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('the SDK is loaded lazily', () => {
  it('no cloud module imports an AWS package at the top level (type imports only)', () => {
    for (const file of ['ec2.ts', 'cloudwatch.ts', 'instance-cache.ts', 'wait-for-ssh.ts', 'aws-errors.ts', 'retry.ts', 'util.ts']) {
      const source = readFileSync(new URL(`../../../src/cloud/${file}`, import.meta.url), 'utf8')
      const staticImports = source.split('\n').filter((line) => /^\s*(import|export)\b(?!\s+type\b).*from\s+['"]@aws-sdk\//.test(line))
      expect(staticImports, file).toEqual([])
    }
  })
})

describe('parseEc2Tag', () => {
  it('splits at the first "="', () => {
    expect(parseEc2Tag('Name=orch-host')).toEqual({key: 'Name', value: 'orch-host'})
    expect(parseEc2Tag('role=a=b')).toEqual({key: 'role', value: 'a=b'})
  })

  it('refuses a spec without a key', () => {
    expect(() => parseEc2Tag('novalue')).toThrow(OrchError)
    expect(() => parseEc2Tag('=x')).toThrow(/key=value/)
  })
})

describe('describeTarget', () => {
  it('by id sends exactly {InstanceIds: [id]} and maps the instance', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('running')))
    const info = await describeTarget(client, {instanceId: ID})
    expect(describeInputs()).toEqual([{InstanceIds: [ID]}])
    expect(info).toEqual<InstanceInfo>({
      instanceId: ID,
      state: 'running',
      instanceType: 't3.xlarge',
      publicDnsName: DNS,
      privateIp: '10.0.1.5',
      publicIp: '3.120.1.2',
      launchTime: LAUNCH,
      stateReason: null,
    })
  })

  it('maps absent addresses to null', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('stopped', {PrivateIpAddress: undefined})))
    const info = await describeTarget(client, {instanceId: ID})
    expect(info).toMatchObject({state: 'stopped', publicDnsName: null, publicIp: null, privateIp: null, launchTime: null})
  })

  it('by tag sends the tag filter and the live-state filter', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('stopped')))
    const info = await describeTarget(client, {tag: {key: 'Name', value: 'orch-host'}})
    expect(describeInputs()).toEqual([
      {
        Filters: [
          {Name: 'tag:Name', Values: ['orch-host']},
          {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']},
        ],
      },
    ])
    expect(info.instanceId).toBe(ID)
    expect(info.state).toBe('stopped')
  })

  it('follows NextToken pages for a tag', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({...reply(), NextToken: 'page-2'})
      .resolves(reply(instance('running')))
    const info = await describeTarget(client, {tag: {key: 'env', value: 'build'}})
    expect(info.state).toBe('running')
    const filters = [
      {Name: 'tag:env', Values: ['build']},
      {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']},
    ]
    expect(describeInputs()).toStrictEqual([{Filters: filters}, {Filters: filters, NextToken: 'page-2'}])
  })

  it('retries a throttled page on its own, with the same token, and keeps what earlier pages found', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({...reply(), NextToken: 'page-2'})
      .rejectsOnce(awsError('RequestLimitExceeded', 'Request limit exceeded.', 503))
      .resolves(reply(instance('stopped')))
    const {sleep} = fakeClock()
    const info = await describeTarget(client, {tag: {key: 'env', value: 'build'}}, {retry: {sleep, random: () => 1, baseMs: 100}})
    expect(info.state).toBe('stopped')
    const filters = [
      {Name: 'tag:env', Values: ['build']},
      {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']},
    ]
    expect(describeInputs()).toStrictEqual([{Filters: filters}, {Filters: filters, NextToken: 'page-2'}, {Filters: filters, NextToken: 'page-2'}])
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([100])
  })

  it('stops when AWS hands back the token it was given', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce({...reply(), NextToken: 'same'}).resolves({...reply(instance('running')), NextToken: 'same'})
    await describeTarget(client, {tag: {key: 'env', value: 'build'}})
    expect(describeInputs()).toHaveLength(2)
  })

  it('not found by id (InvalidInstanceID.NotFound) names the instance and the region', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', `The instance ID '${ID}' does not exist`))
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.kind).toBe('cloud')
    expect(error.message).toBe(`instance ${ID} not found in eu-central-1`)
    expect(error.hint).toMatch(/ORCH_EC2_INSTANCE_ID/)
  })

  it('not found by id (empty answer)', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply())
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.message).toBe(`instance ${ID} not found in eu-central-1`)
  })

  it('a malformed id is a configuration error', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.Malformed', 'Invalid id: "bogus"'))
    const error = await caught(describeTarget(client, {instanceId: 'bogus'}))
    expect(error.kind).toBe('config')
    expect(error.message).toContain('"bogus"')
  })

  it('no instance with the tag', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply())
    const error = await caught(describeTarget(client, {tag: {key: 'Name', value: 'orch-host'}}))
    expect(error.kind).toBe('cloud')
    expect(error.message).toMatch(/tagged Name=orch-host in eu-central-1/)
    expect(error.hint).toMatch(/ORCH_EC2_TAG/)
  })

  it('several tag matches lists their ids', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({
        $metadata: {},
        Reservations: [
          {Instances: [instance('running', {InstanceId: 'i-aaa'})]},
          {Instances: [instance('stopped', {InstanceId: 'i-bbb'}), instance('pending', {InstanceId: 'i-ccc'})]},
        ],
      })
    const error = await caught(describeTarget(client, {tag: {key: 'Name', value: 'orch-host'}}))
    expect(error.kind).toBe('cloud')
    expect(error.message).toBe('3 instances are tagged Name=orch-host: i-aaa (running), i-bbb (stopped), i-ccc (pending)')
    expect(error.hint).toMatch(/ORCH_EC2_INSTANCE_ID/)
  })

  it('a terminated instance is an error', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('terminated')))
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.kind).toBe('cloud')
    expect(error.message).toBe(`instance ${ID} is terminated and can never run again`)
  })

  it('UnauthorizedOperation names ec2:DescribeInstances and does not echo the encoded message', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation. Encoded authorization failure message: SECRETBLOB', 403))
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.kind).toBe('cloud')
    expect(error.message).toContain('ec2:DescribeInstances')
    expect(error.hint).toContain('ec2:DescribeInstances')
    expect(error.toLine()).not.toContain('SECRETBLOB')
  })

  it('missing credentials says how to configure them', async () => {
    const missing = new Error('Could not load credentials from any providers')
    missing.name = 'CredentialsProviderError'
    ec2Mock.on(DescribeInstancesCommand).rejects(missing)
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.kind).toBe('config')
    expect(error.message).toBe('no AWS credentials found')
    expect(error.hint).toContain('AWS_PROFILE')
    expect(error.hint).toContain('aws configure')
    expect(error.hint).toContain('aws sso login')
  })

  it('an expired SSO token says to log in again', async () => {
    const expired = new Error('The SSO session has expired')
    expired.name = 'TokenProviderError'
    ec2Mock.on(DescribeInstancesCommand).rejects(expired)
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.kind).toBe('config')
    expect(error.hint).toContain('aws sso login')
  })

  it('a missing region is a configuration error', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(new Error('Region is missing'))
    const error = await caught(describeTarget(client, {instanceId: ID}))
    expect(error.kind).toBe('config')
    expect(error.hint).toContain('AWS_REGION')
  })

  it('no target configured', async () => {
    const error = await caught(describeTarget(client, {}))
    expect(error.kind).toBe('config')
    expect(ec2Mock.calls()).toHaveLength(0)
  })

  it('retries throttling (RequestLimitExceeded, Throttling) with backoff, then succeeds', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('RequestLimitExceeded', 'Request limit exceeded.', 503))
      .rejectsOnce(awsError('Throttling', 'Rate exceeded', 400))
      .resolves(reply(instance('running')))
    const {sleep} = fakeClock()
    const info = await describeTarget(client, {instanceId: ID}, {retry: {sleep, random: () => 1, baseMs: 100}})
    expect(info.state).toBe('running')
    expect(describeInputs()).toEqual([{InstanceIds: [ID]}, {InstanceIds: [ID]}, {InstanceIds: [ID]}])
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([100, 200])
  })

  it('gives up after the retry budget with a one-line error', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 'Request limit exceeded.', 503))
    const {sleep} = fakeClock()
    const error = await caught(describeTarget(client, {instanceId: ID}, {retry: {sleep, attempts: 3}}))
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(3)
    expect(error.kind).toBe('cloud')
    expect(error.message).toMatch(/throttling/)
    expect(error.toLine()).not.toContain('\n')
  })
})

describe('ensureRunning', () => {
  it('running: returns at once without starting', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('running')))
    const clock = fakeClock()
    const states: Array<[InstanceState, number]> = []
    const info = await ensureRunning(client, {instanceId: ID}, {...clock, onState: (state, elapsed) => states.push([state, elapsed])})
    expect(info.publicDnsName).toBe(DNS)
    expect(describeInputs()).toEqual([{InstanceIds: [ID]}])
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
    expect(states).toEqual([['running', 0]])
    expect(clock.sleep).not.toHaveBeenCalled()
  })

  it('pending: waits until running', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('pending')))
      .resolvesOnce(reply(instance('pending')))
      .resolves(reply(instance('running')))
    const clock = fakeClock()
    const states: Array<[InstanceState, number]> = []
    const info = await ensureRunning(client, {instanceId: ID}, {...clock, pollMs: 5000, onState: (state, elapsed) => states.push([state, elapsed])})
    expect(info.state).toBe('running')
    expect(states).toEqual([
      ['pending', 0],
      ['pending', 5000],
      ['running', 10000],
    ])
    expect(describeInputs()).toEqual(Array(3).fill({InstanceIds: [ID]}))
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
  })

  it('stopped → StartInstances → pending → running', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('stopped')))
      .resolvesOnce(reply(instance('pending')))
      .resolves(reply(instance('running')))
    ec2Mock.on(StartInstancesCommand).resolves({
      $metadata: {},
      StartingInstances: [{InstanceId: ID, PreviousState: {Name: 'stopped'}, CurrentState: {Name: 'pending'}}],
    })
    const clock = fakeClock()
    const states: InstanceState[] = []
    const info = await ensureRunning(client, {instanceId: ID}, {...clock, pollMs: 2000, onState: (state) => states.push(state)})
    expect(info).toMatchObject({state: 'running', publicDnsName: DNS})
    expect(states).toEqual(['stopped', 'pending', 'running'])
    expect(startInputs()).toEqual([{InstanceIds: [ID]}])
    expect(describeInputs()).toEqual(Array(3).fill({InstanceIds: [ID]}))
    // Start is requested after the first look, before the first pause.
    expect(ec2Mock.call(1).args[0]).toBeInstanceOf(StartInstancesCommand)
  })

  it('stopping → stopped → StartInstances → pending → running', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('stopping')))
      .resolvesOnce(reply(instance('stopping')))
      .resolvesOnce(reply(instance('stopped')))
      .resolvesOnce(reply(instance('pending')))
      .resolves(reply(instance('running')))
    ec2Mock.on(StartInstancesCommand).resolves({$metadata: {}})
    const clock = fakeClock()
    const states: InstanceState[] = []
    const info = await ensureRunning(client, {instanceId: ID}, {...clock, onState: (state) => states.push(state)})
    expect(info.state).toBe('running')
    expect(states).toEqual(['stopping', 'stopping', 'stopped', 'pending', 'running'])
    expect(startInputs()).toEqual([{InstanceIds: [ID]}])
    // The start comes only after stopped was seen: DescribeInstances ×3, then StartInstances.
    const order = ec2Mock.calls().map((call) => (call.args[0] as object).constructor.name)
    expect(order).toEqual([
      'DescribeInstancesCommand',
      'DescribeInstancesCommand',
      'DescribeInstancesCommand',
      'StartInstancesCommand',
      'DescribeInstancesCommand',
      'DescribeInstancesCommand',
    ])
  })

  it('by tag: looks up by tag once, then polls by id', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('stopped')))
      .resolves(reply(instance('running')))
    ec2Mock.on(StartInstancesCommand).resolves({$metadata: {}})
    const info = await ensureRunning(client, {tag: {key: 'Name', value: 'orch-host'}}, fakeClock())
    expect(info.state).toBe('running')
    const inputs = describeInputs()
    expect(inputs[0]).toHaveProperty('Filters')
    expect(inputs[1]).toEqual({InstanceIds: [ID]})
    expect(startInputs()).toEqual([{InstanceIds: [ID]}])
  })

  it('terminated: error, nothing started', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('terminated')))
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toMatch(/terminated/)
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
  })

  it('shutting-down: error, nothing started', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('shutting-down')))
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toBe(`instance ${ID} is shutting-down and can never run again`)
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
  })

  it('terminated while waiting: error', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('pending')))
      .resolves(reply(instance('terminated')))
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toMatch(/is terminated/)
  })

  it('not found: error naming the instance', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'))
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toContain(ID)
  })

  it('several tag matches: error', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('stopped', {InstanceId: 'i-1'}), instance('stopped', {InstanceId: 'i-2'})))
    const error = await caught(ensureRunning(client, {tag: {key: 'Name', value: 'x'}}, fakeClock()))
    expect(error.message).toMatch(/i-1 \(stopped\), i-2 \(stopped\)/)
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
  })

  it('times out with a clear error after timeoutMs', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('pending')))
    const clock = fakeClock()
    const error = await caught(ensureRunning(client, {instanceId: ID}, {...clock, timeoutMs: 60_000, pollMs: 5000}))
    expect(error.kind).toBe('cloud')
    expect(error.message).toBe(`instance ${ID} is still pending after 1m (waiting for it to be running)`)
    expect(error.hint).toContain('--start-timeout')
    // Polled every 5 s for 60 s: 12 pauses, 13 looks, and never beyond the deadline.
    expect(clock.sleep).toHaveBeenCalledTimes(12)
    expect(clock.now()).toBe(60_000)
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(13)
  })

  it('times out while stopping, saying what it waited for', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('stopping')))
    const error = await caught(ensureRunning(client, {instanceId: ID}, {...fakeClock(), timeoutMs: 10_000}))
    expect(error.message).toBe(`instance ${ID} is still stopping after 10s (waiting for it to be stopped, then start it)`)
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
  })

  it('defaults to a 5 minute bound', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('pending')))
    const clock = fakeClock()
    const error = await caught(ensureRunning(client, {instanceId: ID}, clock))
    expect(error.message).toMatch(/after 5m/)
    expect(clock.now()).toBe(300_000)
  })

  it('throttled StartInstances is retried, then the start goes on', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('stopped')))
      .resolves(reply(instance('running')))
    ec2Mock
      .on(StartInstancesCommand)
      .rejectsOnce(awsError('RequestLimitExceeded', 'Request limit exceeded.', 503))
      .resolves({$metadata: {}})
    const clock = fakeClock()
    const info = await ensureRunning(client, {instanceId: ID}, {...clock, retry: {random: () => 1, baseMs: 250}})
    expect(info.state).toBe('running')
    expect(startInputs()).toEqual([{InstanceIds: [ID]}, {InstanceIds: [ID]}])
    expect(clock.sleep.mock.calls[0]).toEqual([250])
  })

  it('throttled DescribeInstances while polling is retried', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('pending')))
      .rejectsOnce(awsError('Throttling', 'Rate exceeded'))
      .resolves(reply(instance('running')))
    const info = await ensureRunning(client, {instanceId: ID}, fakeClock())
    expect(info.state).toBe('running')
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(3)
  })

  it('StartInstances unauthorized names ec2:StartInstances', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('stopped')))
    ec2Mock.on(StartInstancesCommand).rejects(awsError('UnauthorizedOperation', 'not authorized', 403))
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toContain('ec2:StartInstances')
  })

  it('no capacity: a clear error', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(reply(instance('stopped')))
    ec2Mock.on(StartInstancesCommand).rejects(awsError('InsufficientInstanceCapacity', 'no capacity'))
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toBe(`AWS has no spare t3.xlarge capacity to start ${ID} right now`)
  })

  it('a start that falls back to stopped is reported with the reason, not retried forever', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('stopped')))
      .resolvesOnce(reply(instance('pending')))
      .resolves(reply(instance('stopped', {StateReason: {Code: 'Client.InternalError', Message: 'Client.InternalError: Client error on launch'}})))
    ec2Mock.on(StartInstancesCommand).resolves({$metadata: {}})
    const error = await caught(ensureRunning(client, {instanceId: ID}, fakeClock()))
    expect(error.message).toBe(`instance ${ID} went back to stopped while starting: Client.InternalError: Client error on launch`)
    expect(startInputs()).toHaveLength(1)
  })

  it('a start racing with a stop (IncorrectInstanceState) keeps waiting', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('stopped')))
      .resolvesOnce(reply(instance('stopping')))
      .resolvesOnce(reply(instance('stopped')))
      .resolves(reply(instance('running')))
    ec2Mock
      .on(StartInstancesCommand)
      .rejectsOnce(awsError('IncorrectInstanceState', 'The instance is not in a state from which it can be started.'))
      .resolves({$metadata: {}})
    const info = await ensureRunning(client, {instanceId: ID}, fakeClock())
    expect(info.state).toBe('running')
    expect(startInputs()).toHaveLength(2)
  })

  it('running but without any address yet: keeps polling', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(reply(instance('running', {PublicDnsName: '', PublicIpAddress: undefined, PrivateIpAddress: undefined})))
      .resolves(reply(instance('running')))
    const info = await ensureRunning(client, {instanceId: ID}, fakeClock())
    expect(info.publicDnsName).toBe(DNS)
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2)
  })
})

describe('stopInstance', () => {
  it('sends StopInstances {InstanceIds: [id]} and reports the change', async () => {
    ec2Mock.on(StopInstancesCommand).resolves({
      $metadata: {},
      StoppingInstances: [{InstanceId: ID, PreviousState: {Name: 'running'}, CurrentState: {Name: 'stopping'}}],
    })
    const result = await stopInstance(client, ID)
    expect(ec2Mock.commandCalls(StopInstancesCommand).map((call) => call.args[0].input)).toEqual([{InstanceIds: [ID]}])
    expect(result).toEqual({instanceId: ID, previousState: 'running', currentState: 'stopping'})
  })

  it('an instance that cannot be stopped yet is a conflict', async () => {
    ec2Mock.on(StopInstancesCommand).rejects(awsError('IncorrectInstanceState', 'not in a state from which it can be stopped'))
    const error = await caught(stopInstance(client, ID))
    expect(error.kind).toBe('conflict')
    expect(error.message).toContain(ID)
  })

  it('unauthorized names ec2:StopInstances', async () => {
    ec2Mock.on(StopInstancesCommand).rejects(awsError('UnauthorizedOperation', 'no', 403))
    const error = await caught(stopInstance(client, ID))
    expect(error.message).toContain('ec2:StopInstances')
  })
})

describe('pickAddress', () => {
  const base: InstanceInfo = {
    instanceId: ID,
    state: 'running',
    instanceType: 't3.xlarge',
    publicDnsName: DNS,
    privateIp: '10.0.1.5',
    publicIp: '3.120.1.2',
    launchTime: LAUNCH,
    stateReason: null,
  }

  it('prefers the public DNS name, then the public IP, then the private IP', () => {
    expect(pickAddress(base)).toBe(DNS)
    expect(pickAddress({...base, publicDnsName: null})).toBe('3.120.1.2')
    expect(pickAddress({...base, publicDnsName: null, publicIp: null})).toBe('10.0.1.5')
  })

  it('uses the private IP when asked', () => {
    expect(pickAddress(base, true)).toBe('10.0.1.5')
  })

  it('errors when there is no address', () => {
    expect(() => pickAddress({...base, publicDnsName: null, publicIp: null, privateIp: null})).toThrow(`instance ${ID} (running) has no address`)
    expect(() => pickAddress({...base, privateIp: null}, true)).toThrow(/has no private IP/)
    expect(() => pickAddress({...base, state: 'stopped', publicDnsName: null, publicIp: null, privateIp: null})).toThrow(
      expect.objectContaining({kind: 'cloud', hint: expect.stringContaining('orch host up')}),
    )
  })
})
