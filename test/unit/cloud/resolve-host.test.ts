import {DescribeInstancesCommand, EC2Client, StartInstancesCommand, type Instance} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import {mkdtemp, rm} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {createEc2Client} from '../../../src/cloud/ec2.js'
import {readCache} from '../../../src/cloud/instance-cache.js'
import {forgetInstanceAddress, resolveInstanceAddress, type InstanceConfig} from '../../../src/cloud/resolve-host.js'
import {OrchError} from '../../../src/errors/errors.js'

const ID = 'i-0123456789abcdef0'
const ec2Mock = mockClient(EC2Client)

let cacheDir: string
let sshd: net.Server
let port: number
let client: EC2Client

const instance = (state: string): {Reservations: Array<{Instances: Instance[]}>} => ({
  Reservations: [
    {
      Instances: [
        {
          InstanceId: ID,
          State: {Name: state as 'running'},
          InstanceType: 't3.large',
          PublicDnsName: state === 'running' ? '127.0.0.1' : '',
          PrivateIpAddress: '10.0.0.9',
        },
      ],
    },
  ],
})

beforeEach(async () => {
  ec2Mock.reset()
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'orch-resolve-'))
  sshd = net.createServer((socket) => socket.end('SSH-2.0-fake\r\n'))
  port = await new Promise<number>((resolve) => sshd.listen(0, '127.0.0.1', () => resolve((sshd.address() as net.AddressInfo).port)))
  client = await createEc2Client('eu-central-1')
})

afterEach(async () => {
  await new Promise<void>((resolve) => sshd.close(() => resolve()))
  await rm(cacheDir, {recursive: true, force: true})
})

const config = (): InstanceConfig => ({ec2InstanceId: ID, ec2UsePrivateIp: false, port, region: 'eu-central-1'})
const fast = () => ({client, cacheDir, sleep: vi.fn(async () => {}), pollMs: 10})

describe('resolveInstanceAddress', () => {
  it('starts a stopped instance, waits for SSH, caches the address, and then answers from the cache', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(instance('stopped'))
      .resolvesOnce(instance('pending'))
      .resolves(instance('running'))
    ec2Mock.on(StartInstancesCommand).resolves({})
    const updates: string[] = []
    const states: string[] = []
    const address = await resolveInstanceAddress(config(), {
      ...fast(),
      start: true,
      progress: {update: (text) => updates.push(text), stop() {}},
      onState: (state) => states.push(state),
    })
    expect(address).toBe('127.0.0.1')
    expect(states).toEqual(['stopped', 'pending', 'running'])
    expect(updates.at(-1)).toBe('waiting for SSH on 127.0.0.1')
    expect(ec2Mock.commandCalls(StartInstancesCommand).map((call) => call.args[0].input)).toEqual([{InstanceIds: [ID]}])
    expect(await readCache(cacheDir, ID)).toMatchObject({instanceId: ID, state: 'running', address: '127.0.0.1', usePrivateIp: false})

    ec2Mock.resetHistory()
    expect(await resolveInstanceAddress(config(), {...fast(), start: true})).toBe('127.0.0.1')
    expect(ec2Mock.calls()).toHaveLength(0)

    await forgetInstanceAddress(config(), {cacheDir})
    ec2Mock.on(DescribeInstancesCommand).resolves(instance('running'))
    expect(await resolveInstanceAddress(config(), fast())).toBe('127.0.0.1')
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1)
  })

  it('without start, a stopped instance is an error and nothing is started', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(instance('stopped'))
    const error = await resolveInstanceAddress(config(), fast()).catch((error_: unknown) => error_)
    expect(error).toBeInstanceOf(OrchError)
    expect((error as OrchError).message).toBe(`instance ${ID} is stopped, not running`)
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)
  })

  it('uses the private IP when configured', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(instance('running'))
    expect(await resolveInstanceAddress({...config(), ec2UsePrivateIp: true}, fast())).toBe('10.0.0.9')
  })
})
