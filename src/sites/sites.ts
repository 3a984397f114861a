import type {OrchConfig} from '../config/config.js'
import {LocalHost} from '../hosts/local-host.js'
import {SshHost} from '../hosts/ssh-host.js'
import {configError} from '../errors/errors.js'
import type {Progress} from '../terminal/progress.js'
import {JobSite} from '../jobs/site.js'

export type Where = 'cloud' | 'local'

export function localSite(config: OrchConfig): JobSite {
  return new JobSite(new LocalHost(), config.localLogRoot, '')
}

export function cloudConfigured(config: OrchConfig): boolean {
  return Boolean(config.host || config.ec2InstanceId || config.ec2Tag)
}

/**
 * The cloud host from configuration: ORCH_HOST directly, else the EC2 instance (started if it is
 * stopped). The connection itself opens on the first script.
 */
export interface CloudSiteOptions {
  progress?: Progress
  /** Start a stopped EC2 instance (orch run), waiting at most startTimeoutMs for it and its SSH port. */
  startInstance?: boolean
  startTimeoutMs?: number
}

export async function cloudSite(config: OrchConfig, options: CloudSiteOptions = {}): Promise<JobSite> {
  let address = config.host
  if (!address && (config.ec2InstanceId || config.ec2Tag)) {
    const {resolveInstanceAddress} = await import('../cloud/resolve-host.js')
    address = await resolveInstanceAddress(config, {progress: options.progress, start: options.startInstance ?? false, startTimeoutMs: options.startTimeoutMs})
  }
  if (!address) {
    throw configError('no cloud host configured: ORCH_HOST is not set', 'set ORCH_HOST (or ORCH_EC2_INSTANCE_ID) in scripts/cloud/.env or the environment; see .env.example')
  }
  if (!config.user) throw configError('ORCH_USER is not set and no local user name is known', 'set ORCH_USER')
  const host = new SshHost({
    host: address,
    port: config.port,
    user: config.user,
    keyPath: config.sshKey,
    passphrase: config.sshPassphrase,
    knownHostsPath: config.knownHosts,
    acceptNewHostKey: config.acceptNewHostKey,
  })
  return new JobSite(host, config.logRoot, config.tmuxSocket ?? '')
}

export async function siteFor(where: Where, config: OrchConfig, options: CloudSiteOptions = {}): Promise<JobSite> {
  return where === 'local' ? localSite(config) : cloudSite(config, options)
}
