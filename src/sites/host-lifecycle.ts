import {posix} from 'node:path'

import type {OrchConfig} from '../config/config.js'
import {AUTOSTOP_MARKER, type CronOutcome, cronPath, cronWord, manageCronLine} from '../jobs/cron-lines.js'
import {installTools, runInstalledTool} from '../jobs/host-tools.js'
import {unfinishedJobs} from '../jobs/list-jobs.js'
import {cloudSite} from './sites.js'
import {OrchError, configError} from '../errors/errors.js'
import type {Progress} from '../terminal/progress.js'
import {createEc2Client, describeTarget, stopInstance, type InstanceInfo} from '../cloud/ec2.js'
import {forgetInstanceAddress, instanceTarget, resolveInstanceAddress} from '../cloud/resolve-host.js'

export interface HostStatus {
  instance: {
    id: string
    state: string
    type: string | null
    address: string | null
    launchedAt: string | null
    uptimeSeconds: number | null
  } | null
  host: string | null
  reachable: boolean
  jobs: {running: number; queued: number; starting: number} | null
  autostop: string | null
}

const ec2Configured = (config: OrchConfig) => Boolean(config.ec2InstanceId || config.ec2Tag)

function instanceSummary(info: InstanceInfo, config: OrchConfig): NonNullable<HostStatus['instance']> {
  const running = info.state === 'running'
  return {
    id: info.instanceId,
    state: info.state,
    type: info.instanceType,
    address: (config.ec2UsePrivateIp ? info.privateIp : info.publicDnsName || info.publicIp) ?? null,
    launchedAt: info.launchTime?.toISOString() ?? null,
    uptimeSeconds: running && info.launchTime ? Math.round((Date.now() - info.launchTime.getTime()) / 1000) : null,
  }
}

/** The instance (when EC2 is configured), and — when it is up — its jobs and autostop line. */
export async function hostStatus(config: OrchConfig): Promise<HostStatus> {
  let instance: HostStatus['instance'] = null
  if (ec2Configured(config)) {
    const client = await createEc2Client(config.region)
    try {
      instance = instanceSummary(await describeTarget(client, instanceTarget(config)), config)
    } finally {
      client.destroy()
    }
    if (instance.state !== 'running') return {instance, host: null, reachable: false, jobs: null, autostop: null}
  } else if (!config.host) {
    throw configError('no cloud host configured', 'set ORCH_HOST, or ORCH_EC2_INSTANCE_ID / ORCH_EC2_TAG, in scripts/cloud/.env')
  }
  const site = await cloudSite(config)
  try {
    const jobs = await unfinishedJobs([site])
    const count = (state: string) => jobs.filter((job) => job.state === state).length
    const autostop = await manageCronLine(site, 'show', {marker: AUTOSTOP_MARKER, hostDir: config.hostDir, crontabCommand: config.crontab}).catch(() => undefined)
    return {instance, host: site.host.label, reachable: true, jobs: {running: count('RUNNING'), queued: count('QUEUED'), starting: count('STARTING')}, autostop: autostop?.line ?? null}
  } finally {
    await site.close()
  }
}

/** Start the instance if needed and wait until its SSH port answers. */
export async function hostUp(config: OrchConfig, options: {progress?: Progress; startTimeoutMs?: number}): Promise<{instanceId: string | null; address: string}> {
  if (!ec2Configured(config)) {
    throw configError('orch host up needs an EC2 instance', 'set ORCH_EC2_INSTANCE_ID or ORCH_EC2_TAG (ORCH_HOST alone names a host orch cannot start)')
  }
  const address = await resolveInstanceAddress(config, {start: true, progress: options.progress, startTimeoutMs: options.startTimeoutMs, cacheMaxAgeMs: 0})
  return {instanceId: config.ec2InstanceId ?? null, address}
}

/** Stop the instance — refused while a job is running, starting or queued there, unless forced. */
export async function hostDown(config: OrchConfig, options: {force: boolean}): Promise<{instanceId: string; previousState: string | null; currentState: string | null; unfinishedJobs: string[]}> {
  if (!ec2Configured(config)) throw configError('orch host down needs an EC2 instance', 'set ORCH_EC2_INSTANCE_ID or ORCH_EC2_TAG')
  const client = await createEc2Client(config.region)
  try {
    const info = await describeTarget(client, instanceTarget(config))
    let unfinished: string[] = []
    if (info.state === 'running') {
      const site = await cloudSite(config)
      try {
        unfinished = (await unfinishedJobs([site])).map((job) => `${job.name} (${job.state})`)
      } finally {
        await site.close()
      }
      if (unfinished.length > 0 && !options.force) {
        throw new OrchError('conflict', `${info.instanceId} still has ${unfinished.length} unfinished job(s): ${unfinished.join(', ')}`, 'wait for them (orch status), stop them (orch stop NAME), or pass --force')
      }
    }
    const result = await stopInstance(client, info.instanceId)
    await forgetInstanceAddress(config)
    return {...result, unfinishedJobs: unfinished}
  } finally {
    client.destroy()
  }
}

/** Install tmux, create the log root, install the retention cron line — idempotently. */
export async function bootstrapHost(config: OrchConfig, options: {progress?: Progress}): Promise<{host: string; output: string}> {
  const site = await cloudSite(config, {progress: options.progress, startInstance: true})
  try {
    const bin = await installTools(site, config.hostDir)
    const env: Record<string, string> = {CRONTAB: config.crontab}
    const result = await runInstalledTool(site, bin, 'bootstrap', ['--root', site.logRoot, '--retention-days', String(config.logRetentionDays)], env)
    const output = `${result.stdout.toString()}${result.stderr}`.trim()
    if (result.code !== 0) throw bootstrapFailure(site.host.label, result.code, result.stderr)
    return {host: site.host.label, output}
  } finally {
    await site.close()
  }
}

/** One failed step of bootstrap.sh: its line "bootstrap.sh: STEP: WHY -- fix: WHAT TO DO". */
export interface BootstrapStepFailure {
  step: string
  why: string
  fix: string
}

export function parseBootstrapFailures(stderr: string): BootstrapStepFailure[] {
  const failures: BootstrapStepFailure[] = []
  for (const line of stderr.split('\n')) {
    const match = /^bootstrap\.sh: ([a-z ]+): (.+) -- fix: (.+)$/.exec(line.trim())
    if (match) failures.push({step: match[1]!, why: match[2]!, fix: match[3]!})
  }
  return failures
}

/** Every failed step, with why and what to do, in the message and the hint (text and --json alike). */
export function bootstrapFailure(host: string, code: number, stderr: string): OrchError {
  const failures = parseBootstrapFailures(stderr)
  if (failures.length === 0) {
    const said = stderr.trim().split('\n').filter(Boolean).at(-1) ?? `status ${code}`
    return new OrchError('hostSetup', `bootstrap of ${host} failed: ${said}`, 'fix that and run orch host bootstrap again; it is safe to repeat')
  }
  const message = `bootstrap of ${host} incomplete: ${failures.map((f) => `${f.step}: ${f.why}`).join('; ')}`
  const hint = `${failures.map((f) => `${f.step}: ${f.fix}`).join('; ')}; then run orch host bootstrap again (it is safe to repeat)`
  return new OrchError('hostSetup', message, hint)
}

/**
 * Install (or remove) the cron-driven idle check that shuts the host down after `idleMs` with no
 * job session and no SSH session (scripts/cloud/autostop-check.sh); it never stops a host with a
 * running or queued job.
 */
export async function setAutostop(config: OrchConfig, idleMs: number | 'off'): Promise<CronOutcome & {idleMinutes: number | null}> {
  const site = await cloudSite(config)
  try {
    if (idleMs === 'off') {
      const outcome = await manageCronLine(site, 'remove', {marker: AUTOSTOP_MARKER, hostDir: config.hostDir, crontabCommand: config.crontab})
      return {...outcome, idleMinutes: null}
    }
    const minutes = Math.max(1, Math.round(idleMs / 60_000))
    const outcome = await manageCronLine(site, 'install', {
      marker: AUTOSTOP_MARKER,
      hostDir: config.hostDir,
      crontabCommand: config.crontab,
      line: (bin) =>
        [
          '* * * * * /bin/sh',
          cronWord(`${bin}/autostop-check.sh`),
          `--idle-minutes ${minutes}`,
          `--root ${cronPath(site.logRoot)}`,
          `--state-file ${cronWord(`${posix.dirname(bin)}/autostop.state`)}`,
          site.tmuxSocket ? `--tmux-socket ${cronWord(site.tmuxSocket)}` : '',
          `--shutdown-cmd ${cronWord(config.autostopShutdownCommand)}`,
          `>> ${cronWord(`${posix.dirname(bin)}/autostop.log`)} 2>&1`,
        ]
          .filter(Boolean)
          .join(' '),
    })
    return {...outcome, idleMinutes: minutes}
  } finally {
    await site.close()
  }
}
