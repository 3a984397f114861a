/**
 * The cloud host around the jobs, against the real loopback sshd and tmux of the job
 * tests: `orch host autostop` and `orch host status` over a crontab of the test's own, the installed
 * autostop check run on that host with jobs present and absent (its shutdown command replaced by a
 * marker), wait-for-SSH against an sshd that starts late or never, CloudWatch shipping of a real
 * job's log (aws-sdk-client-mock), `orch host up/down` without EC2, and hostDown/hostStatus with a
 * mocked EC2 instance whose address is the sandbox.
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {join} from 'node:path'

import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs'
import {DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand, type Instance} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {hostDown, hostStatus} from '../../src/sites/host-lifecycle.js'
import {cacheFile} from '../../src/cloud/instance-cache.js'
import {shipJobLog} from '../../src/sites/ship-job.js'
import {waitForSsh} from '../../src/cloud/wait-for-ssh.js'
import {loadConfig} from '../../src/config/config.js'
import {shellWord} from '../../src/hosts/shell-words.js'
import {cloudSite} from '../../src/sites/sites.js'
import {OrchError} from '../../src/errors/errors.js'
import {startSandboxSshd} from '../helpers/sandbox-sshd.js'
import {writeFakeCrontab} from './helpers/host-kit.js'
import {OrchWorld, type Result, isAlive, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the cloud-host integration tests', SANDBOX_TOOLS)

const logsMock = mockClient(CloudWatchLogsClient)
const ec2Mock = mockClient(EC2Client)

let world: OrchWorld
let scratch: string
let spool: string
let crontab: string
let hostDir: string
let cacheHome: string
const holders: ChildProcess[] = []

/** The user's own crontab lines, which orch must keep byte for byte. */
const MINE = '# my crontab\nMAILTO=me@example.invalid\n\r\n30 2 * * 1 /usr/local/bin/weekly --flag "x y" # mine\n'

beforeAll(async () => {
  world = await OrchWorld.start()
  scratch = join(world.tmp, 'scratch')
  mkdirSync(scratch, {recursive: true})
  spool = join(scratch, 'crontab.spool')
  crontab = writeFakeCrontab(scratch, spool)
  writeFileSync(spool, MINE)
  hostDir = world.sandbox.env().ORCH_HOST_DIR!
  // The EC2 address cache (resolve-host.ts reads XDG_CACHE_HOME from this process) stays in the temp dir.
  cacheHome = join(world.tmp, 'cache')
  vi.stubEnv('XDG_CACHE_HOME', cacheHome)
  // A warm-connection holder started from this process would put its socket under this process's
  // HOME, the real one: these in-process sites keep the test's HOME, and XDG_RUNTIME_DIR is not used.
  vi.stubEnv('HOME', world.home)
  vi.stubEnv('XDG_RUNTIME_DIR', '')
})

afterAll(async () => {
  vi.unstubAllEnvs()
  for (const holder of holders) holder.kill('SIGKILL')
  if (world && existsSync(world.logRoot)) {
    for (const name of readdirSync(world.logRoot)) {
      try {
        if (!existsSync(join(world.logRoot, name, 'exit'))) process.kill(-Number(readFileSync(join(world.logRoot, name, 'pid'), 'utf8')), 'SIGKILL')
      } catch {}
    }
  }
  await world?.cleanup()
})

const CLI_ENV = () => ({ORCH_CRONTAB: crontab})

function orch(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return world.orch(args, {env: {...CLI_ENV(), ...env}})
}

/** Configuration as the CLI would load it in the test's world (HOME and cwd in the temp dir). */
function inProcessConfig(extra: Record<string, string | undefined> = {}) {
  const env: Record<string, string | undefined> = {PATH: process.env.PATH, HOME: world.home, ...world.sandbox.env(), AWS_REGION: 'us-east-1', ORCH_CRONTAB: crontab, ...extra}
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key]
  return loadConfig({env: env as NodeJS.ProcessEnv, cwd: world.work})
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

async function exited(name: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(`${name} to end`, () => existsSync(join(world.logRoot, name, 'exit')), timeoutMs, 50)
}

function autostopLine(minutes: number, shutdownCommand: string): string {
  return [
    '* * * * * /bin/sh',
    shellWord(`${hostDir}/bin/autostop-check.sh`),
    `--idle-minutes ${minutes}`,
    `--root ${shellWord(world.logRoot)}`,
    `--state-file ${shellWord(`${hostDir}/autostop.state`)}`,
    `--tmux-socket ${shellWord(world.tmuxSocket)}`,
    `--shutdown-cmd ${shellWord(shutdownCommand)}`,
    `>> ${shellWord(`${hostDir}/autostop.log`)} 2>&1 # orch:autostop`,
  ].join(' ')
}

describe.skipIf(NO_SANDBOX)('orch host up / down / status without EC2 configuration', () => {
  it('host up and host down exit 3 and say what to set, before touching any host', async () => {
    for (const command of ['up', 'down']) {
      const result = await orch(['host', command])
      expect(result.code, command).toBe(3)
      expect(result.stdout, command).toBe('')
      expect(result.stderr, command).toMatch(/ORCH_EC2_INSTANCE_ID/)
    }
    const nothing = await orch(['host', 'status', '--json'], {ORCH_HOST: undefined})
    expect(nothing.code).toBe(3)
    expect(nothing.stderr).toMatch(/no cloud host configured/)
  })
})

describe.skipIf(NO_SANDBOX)('idle auto-stop', {timeout: 120_000}, () => {
  let fakeBin: string
  let uptime: string
  let danger: string

  beforeAll(() => {
    // The SSH/login checks see no session (other tests hold real sshd sessions on this machine), and
    // every way to power a machine off only leaves a trace: nothing here may ever stop this host.
    fakeBin = join(scratch, 'bin')
    danger = join(scratch, 'DANGER-poweroff-attempted')
    mkdirSync(fakeBin, {recursive: true})
    const write = (name: string, text: string) => {
      writeFileSync(join(fakeBin, name), text)
      chmodSync(join(fakeBin, name), 0o755)
    }
    write('pgrep', '#!/bin/sh\nexit 1\n')
    write('who', '#!/bin/sh\nexit 0\n')
    for (const name of ['sudo', 'shutdown', 'poweroff', 'halt', 'reboot', 'systemctl']) write(name, `#!/bin/sh\necho "$0 $*" >> '${danger}'\nexit 1\n`)
    // A host up for years: the "state from before this boot" reset stays out of the way.
    uptime = join(scratch, 'uptime')
    writeFileSync(uptime, '100000000.00 1.00\n')
  })

  const checkEnv = () => ({PATH: `${fakeBin}:${process.env.PATH}`, HOME: world.home, LC_ALL: 'C', ORCH_PROC_UPTIME: uptime})

  /** The installed check, run on the host with explicit arguments. */
  function check(stateFile: string, marker: string) {
    const result = spawnSync(
      'sh',
      [
        join(hostDir, 'bin', 'autostop-check.sh'),
        '--idle-minutes', '30',
        '--root', world.logRoot,
        '--state-file', stateFile,
        // No tmux server by that name: the decision rests on the job directories alone.
        '--tmux-socket', `orch-none-${process.pid}`,
        '--shutdown-cmd', `touch ${shellWord(marker)}`,
        '--verbose',
      ],
      {encoding: 'utf8', env: checkEnv(), timeout: 30_000},
    )
    return {code: result.status, stdout: result.stdout, stderr: result.stderr}
  }

  /** The command part of the installed crontab line, run the way cron would run it. */
  function runCronLine(line: string) {
    const command = line.replace(/^\* \* \* \* \* /, '')
    // Never run a line that could power anything off.
    expect(command).toMatch(/ --shutdown-cmd 'touch [^' ]+' /)
    expect(command).not.toMatch(/sudo|shutdown -|poweroff|halt\b/)
    const result = spawnSync('sh', ['-c', command], {encoding: 'utf8', env: checkEnv(), timeout: 30_000})
    return {code: result.status, stdout: result.stdout, stderr: result.stderr}
  }

  const state = (file: string) => Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split('=') as [string, string]).map(([k, v]) => [k, Number(v)]))

  let holder: ChildProcess
  const running = 'autostop-running'
  const queued = 'autostop-queued'
  const gate = () => join(scratch, 'autostop.gate')
  const ID = 'i-0a1b2c3d4e5f60718'

  function ec2Instance(): Instance {
    return {
      InstanceId: ID,
      State: {Name: 'running', Code: 16},
      InstanceType: 't3.large',
      PublicDnsName: '127.0.0.1',
      PublicIpAddress: '127.0.0.1',
      PrivateIpAddress: '10.0.1.5',
      LaunchTime: new Date(Date.now() - 3_600_000),
    }
  }

  it('orch host autostop 30m installs one cron line naming autostop-check.sh with the root, socket and shutdown command', async () => {
    const first = await orch(['host', 'autostop', '30m', '--json'])
    expect(first.code, first.stderr).toBe(0)
    const line = autostopLine(30, 'sudo shutdown -h now')
    expect(JSON.parse(first.stdout)).toMatchObject({action: 'install', marker: 'orch:autostop', idleMinutes: 30, line})
    expect(readFileSync(spool, 'utf8')).toBe(`${MINE}${line}\n`)
    expect(existsSync(join(hostDir, 'bin', 'autostop-check.sh'))).toBe(true)

    // Again with another time and shutdown command: still one line, replaced in place.
    const marker = join(scratch, 'cron-line-stop.marker')
    const again = await orch(['host', 'autostop', '45m', '--json'], {ORCH_AUTOSTOP_SHUTDOWN_CMD: `touch ${shellWord(marker)}`})
    expect(again.code, again.stderr).toBe(0)
    const line45 = autostopLine(45, `touch ${shellWord(marker)}`)
    expect(readFileSync(spool, 'utf8')).toBe(`${MINE}${line45}\n`)

    const status = await orch(['host', 'status', '--json'])
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({instance: null, reachable: true, autostop: line45, jobs: {running: 0, queued: 0, starting: 0}})
    const text = await orch(['host', 'status'])
    expect(text.stdout).toContain(`autostop  ${line45}`)
  })

  it('with a RUNNING and a QUEUED job: host status counts them, the check never shuts down, host down refuses', async () => {
    // The test holds slot 1 of the host's queue: the job limited to 1 at a time waits QUEUED.
    const queue = join(world.logRoot, '.orch-queue')
    mkdirSync(queue, {recursive: true})
    holder = spawn('sh', ['-c', 'exec 8> slot-1; flock 8; echo ready; exec sleep 600'], {cwd: queue, stdio: ['ignore', 'pipe', 'inherit']})
    holders.push(holder)
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()))
    const started = await orch(['run', running, '--where', 'cloud', '--max-parallel', '3', '--', `echo running; while [ ! -f ${shellWord(gate())} ]; do sleep 0.1; done`])
    expect(started.code, started.stderr).toBe(0)
    const waiting = await orch(['run', queued, '--where', 'cloud', '--max-parallel', '1', '--', 'echo never'])
    expect(waiting.code, waiting.stderr).toBe(0)
    await world.waitForLog(running, /running\n/)
    await world.waitForState(queued, ['QUEUED'])

    const status = await orch(['host', 'status', '--json'])
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({reachable: true, jobs: {running: 1, queued: 1, starting: 0}})

    // The installed check, idle for hours by its state file, but with jobs present.
    const stateFile = join(scratch, 'autostop.state')
    const marker = join(scratch, 'shutdown.marker')
    writeFileSync(stateFile, `last_busy=${nowSeconds() - 7200}\n`)
    const before = nowSeconds()
    const busy = check(stateFile, marker)
    expect(busy.code, busy.stderr).toBe(0)
    expect(busy.stdout).toMatch(/^busy: job autostop-(running|queued) is (running|queued)$/m)
    expect(existsSync(marker)).toBe(false)
    expect(state(stateFile).last_busy).toBeGreaterThanOrEqual(before)

    // The installed crontab line itself, run as cron would: busy too.
    writeFileSync(join(hostDir, 'autostop.state'), `last_busy=${nowSeconds() - 7200}\n`)
    const lineMarker = join(scratch, 'cron-line-stop.marker')
    const byCron = runCronLine(readFileSync(spool, 'utf8').split('\n').find((line) => line.endsWith('# orch:autostop'))!)
    expect(byCron.code, byCron.stderr).toBe(0)
    expect(existsSync(lineMarker)).toBe(false)
    expect(state(join(hostDir, 'autostop.state')).last_busy).toBeGreaterThanOrEqual(before)

    // EC2: an instance whose address is this sandbox. host status reads it and the jobs there.
    ec2Mock.reset()
    ec2Mock.on(DescribeInstancesCommand).resolves({Reservations: [{Instances: [ec2Instance()]}]})
    ec2Mock.on(StopInstancesCommand).resolves({StoppingInstances: [{InstanceId: ID, PreviousState: {Name: 'running', Code: 16}, CurrentState: {Name: 'stopping', Code: 64}}]})
    const ec2Config = inProcessConfig({ORCH_HOST: undefined, ORCH_EC2_INSTANCE_ID: ID})
    const hs = await hostStatus(ec2Config)
    expect(hs).toMatchObject({
      instance: {id: ID, state: 'running', type: 't3.large', address: '127.0.0.1'},
      reachable: true,
      jobs: {running: 1, queued: 1, starting: 0},
      autostop: autostopLine(45, `touch ${shellWord(lineMarker)}`),
    })
    expect(hs.instance!.uptimeSeconds).toBeGreaterThanOrEqual(3599)
    for (const call of ec2Mock.commandCalls(DescribeInstancesCommand)) expect(call.args[0].input).toEqual({InstanceIds: [ID]})
    const cached = cacheFile(join(cacheHome, 'orch'), ID)
    expect(existsSync(cached)).toBe(true)

    // host down refuses while they are unfinished …
    let refused: unknown
    try {
      await hostDown(ec2Config, {force: false})
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(OrchError)
    expect((refused as OrchError).kind).toBe('conflict')
    expect((refused as OrchError).message).toContain(`${running} (RUNNING)`)
    expect((refused as OrchError).message).toContain(`${queued} (QUEUED)`)
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(0)
    expect(ec2Mock.commandCalls(StartInstancesCommand)).toHaveLength(0)

    // … and stops the instance when forced, with exactly this request; the cached address is forgotten.
    const down = await hostDown(ec2Config, {force: true})
    expect(down).toEqual({instanceId: ID, previousState: 'running', currentState: 'stopping', unfinishedJobs: expect.arrayContaining([`${running} (RUNNING)`, `${queued} (QUEUED)`])})
    const stops = ec2Mock.commandCalls(StopInstancesCommand)
    expect(stops).toHaveLength(1)
    expect(stops[0]!.args[0].input).toEqual({InstanceIds: [ID]})
    expect(existsSync(cached)).toBe(false)
  })

  it('only a QUEUED job left: still busy; once every job has ended and the host is idle past the limit, the marker command runs', async () => {
    writeFileSync(gate(), '')
    await exited(running)
    const stateFile = join(scratch, 'autostop.state')
    const marker = join(scratch, 'shutdown.marker')
    expect((await world.job(queued))?.state).toBe('QUEUED')
    writeFileSync(stateFile, `last_busy=${nowSeconds() - 7200}\n`)
    const stillBusy = check(stateFile, marker)
    expect(stillBusy.stdout).toMatch(/^busy: job autostop-queued is (running|queued)$/m)
    expect(existsSync(marker)).toBe(false)

    const stopped = await orch(['stop', queued])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(world.readLog(queued)).toBe('[EXIT: 143]\n')
    holder.kill('SIGKILL')
    for (const name of [running, queued]) {
      const pid = Number(readFileSync(join(world.logRoot, name, 'pid'), 'utf8'))
      await waitUntil(`${name}'s wrapper to exit`, () => !isAlive(pid), 20_000, 50)
    }

    // Idle now, but the clock just restarted (last_busy = now): no shutdown yet.
    const fresh = check(stateFile, marker)
    expect(fresh.stdout).toMatch(/idle for 0 min of 30/)
    expect(existsSync(marker)).toBe(false)
    // Idle for two hours: shut down, once.
    writeFileSync(stateFile, `last_busy=${nowSeconds() - 7200}\n`)
    const idle = check(stateFile, marker)
    expect(idle.code, idle.stderr).toBe(0)
    expect(idle.stdout).toMatch(/idle for 120 min \(limit 30\): running: touch /)
    expect(existsSync(marker)).toBe(true)
    expect(state(stateFile).shutdown_at).toBeGreaterThanOrEqual(nowSeconds() - 60)

    // The installed line (sandbox tmux socket included) once every session is gone.
    await waitUntil('the job sessions to end', async () => (await world.tmux(['list-sessions'])).stdout.trim() === '', 20_000, 200)
    const lineMarker = join(scratch, 'cron-line-stop.marker')
    writeFileSync(join(hostDir, 'autostop.state'), `last_busy=${nowSeconds() - 7200}\n`)
    const byCron = runCronLine(readFileSync(spool, 'utf8').split('\n').find((line) => line.endsWith('# orch:autostop'))!)
    expect(byCron.code, byCron.stderr).toBe(0)
    expect(existsSync(lineMarker)).toBe(true)
    expect(readFileSync(join(hostDir, 'autostop.log'), 'utf8')).toMatch(/idle for 120 min \(limit 45\): running: touch /)
    expect(existsSync(danger)).toBe(false)
  })

  it('orch host autostop --off removes the line and nothing else; host status shows it off', async () => {
    const off = await orch(['host', 'autostop', '--off', '--json'])
    expect(off.code, off.stderr).toBe(0)
    expect(JSON.parse(off.stdout)).toMatchObject({action: 'remove', line: null, idleMinutes: null})
    expect(readFileSync(spool, 'utf8')).toBe(MINE)
    const status = await orch(['host', 'status', '--json'])
    expect(JSON.parse(status.stdout)).toMatchObject({autostop: null})
    const text = await orch(['host', 'status'])
    expect(text.stdout).toContain('autostop  off')
  })
})

describe.skipIf(NO_SANDBOX)('CloudWatch shipping of a real job (in-process, AWS mocked)', () => {
  it('CreateLogStream then one PutLogEvents with the lines in order; shipping again sends nothing new', async () => {
    const name = 'cw-job'
    const started = await orch(['run', name, '--where', 'cloud', '--', "printf 'alpha\\nbeta\\n\\ngamma\\n'"])
    expect(started.code, started.stderr).toBe(0)
    await exited(name)
    expect(world.readLog(name)).toBe('alpha\nbeta\n\ngamma\n[EXIT: 0]\n')
    const t0 = Number(readFileSync(join(world.logRoot, name, 'started'), 'utf8')) * 1000
    const events = ['alpha', 'beta', ' ', 'gamma', '[EXIT: 0]'].map((message, i) => ({timestamp: t0 + i, message}))

    const config = inProcessConfig()
    const site = await cloudSite(config)
    try {
      logsMock.reset()
      logsMock.on(CreateLogStreamCommand).resolves({})
      logsMock.on(PutLogEventsCommand).resolves({})
      const first = await shipJobLog(config, site, name)
      expect(first).toMatchObject({name, group: '/orch/jobs', stream: name, complete: true, eventsSent: 5, skipped: 0, totalEvents: 5, createdStream: true, createdGroup: false})
      const creates = logsMock.commandCalls(CreateLogStreamCommand)
      expect(creates).toHaveLength(1)
      expect(creates[0]!.args[0].input).toEqual({logGroupName: '/orch/jobs', logStreamName: name})
      expect(logsMock.commandCalls(CreateLogGroupCommand)).toHaveLength(0)
      const puts = logsMock.commandCalls(PutLogEventsCommand)
      expect(puts).toHaveLength(1)
      expect(puts[0]!.args[0].input).toEqual({logGroupName: '/orch/jobs', logStreamName: name, logEvents: events})
      expect(readFileSync(join(world.logRoot, name, 'cloudwatch.shipped'), 'utf8').trim()).toBe('5')

      // Again, with the host's record gone: the stream's last event says everything is there.
      rmSync(join(world.logRoot, name, 'cloudwatch.shipped'))
      logsMock.reset()
      logsMock.on(CreateLogStreamCommand).rejects(new ResourceAlreadyExistsException({message: 'The specified log stream already exists', $metadata: {httpStatusCode: 400}}))
      logsMock.on(GetLogEventsCommand).resolves({events: [{...events[4]!, ingestionTime: t0 + 10_000}]})
      const again = await shipJobLog(config, site, name)
      expect(again).toMatchObject({eventsSent: 0, skipped: 5, totalEvents: 5, createdStream: false})
      expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(0)
      const reads = logsMock.commandCalls(GetLogEventsCommand)
      expect(reads).toHaveLength(1)
      expect(reads[0]!.args[0].input).toEqual({logGroupName: '/orch/jobs', logStreamName: name, startFromHead: false, limit: 1})

      // A group that does not exist yet is created first, then the stream, then every event is sent.
      logsMock.reset()
      logsMock.on(CreateLogStreamCommand).rejectsOnce(new ResourceNotFoundException({message: 'The specified log group does not exist.', $metadata: {httpStatusCode: 400}})).resolves({})
      logsMock.on(CreateLogGroupCommand).resolves({})
      logsMock.on(PutLogEventsCommand).resolves({})
      const otherConfig = inProcessConfig({ORCH_CLOUDWATCH_GROUP: '/orch/other'})
      const fresh = await shipJobLog(otherConfig, site, name)
      expect(fresh).toMatchObject({group: '/orch/other', eventsSent: 5, createdGroup: true, createdStream: true})
      expect(logsMock.commandCalls(CreateLogGroupCommand)[0]!.args[0].input).toEqual({logGroupName: '/orch/other'})
      expect(logsMock.commandCalls(PutLogEventsCommand)[0]!.args[0].input).toEqual({logGroupName: '/orch/other', logStreamName: name, logEvents: events})
    } finally {
      await site.close()
    }
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

describe.skipIf(NO_SANDBOX).concurrent('wait for SSH against a real sshd', () => {
  it('an sshd that starts late: resolves with its banner once it answers', async () => {
    const port = await freePort()
    const failures: string[] = []
    const startedAt = Date.now()
    const waiting = waitForSsh('127.0.0.1', port, {timeoutMs: 30_000, pollMs: 200, attemptTimeoutMs: 2_000, onAttempt: (_attempt, error) => failures.push(error)})
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const late = await startSandboxSshd({port})
    try {
      const banner = await waiting
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH/)
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_500)
      expect(failures.length).toBeGreaterThanOrEqual(2)
      expect(failures[0]).toBe('ECONNREFUSED')
    } finally {
      await late.cleanup()
    }
  })

  it('an sshd that never starts: a bounded timeout with a clear error', async () => {
    const port = await freePort()
    const startedAt = Date.now()
    let failure: unknown
    try {
      await waitForSsh('127.0.0.1', port, {timeoutMs: 1_500, pollMs: 200})
    } catch (error) {
      failure = error
    }
    const elapsed = Date.now() - startedAt
    expect(failure).toBeInstanceOf(OrchError)
    expect((failure as OrchError).kind).toBe('connection')
    expect((failure as OrchError).message).toMatch(new RegExp(`^no SSH answer from 127\\.0\\.0\\.1:${port} within .+ \\(last: ECONNREFUSED\\)$`))
    expect(elapsed).toBeGreaterThanOrEqual(1_400)
    expect(elapsed).toBeLessThan(5_000)
  })

  it('a port that accepts but never speaks SSH: also bounded', async () => {
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const {port} = silent.address() as net.AddressInfo
    const startedAt = Date.now()
    try {
      await expect(waitForSsh('127.0.0.1', port, {timeoutMs: 1_500, pollMs: 200, attemptTimeoutMs: 500})).rejects.toThrow(/no SSH answer .*connected, but no SSH banner/)
      expect(Date.now() - startedAt).toBeLessThan(5_000)
    } finally {
      silent.close()
    }
  })
})
