import type {OrchConfig} from '../config/config.js'
import {LocalHost} from '../hosts/local-host.js'
import type {Host} from '../hosts/host.js'
import {type SshTarget, resolveSshTarget} from '../hosts/ssh-config.js'
import {controlDir} from '../hosts/control-socket.js'
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

type CloudSiteSource = (config: OrchConfig, options: CloudSiteOptions) => Promise<JobSite>
let keptCloudSites: CloudSiteSource | undefined

/**
 * A long-lived process (orch mcp, see kept-sites.ts) hands out cloud sites it keeps open between
 * calls; undefined goes back to one connection per command.
 */
export function keepCloudSitesOpen(source: CloudSiteSource | undefined): void {
  keptCloudSites = source
}

export async function cloudSite(config: OrchConfig, options: CloudSiteOptions = {}): Promise<JobSite> {
  if (keptCloudSites) return keptCloudSites(config, options)
  const persist = config.controlPersistMs > 0
  // ssh2 loads while `ssh -G` runs in its own process: the resolution costs next to no wall time.
  // With connection reuse on, it loads only when no holder serves this command (holder-host.ts).
  if (!persist) void import('../hosts/ssh-host.js').then((m) => m.preloadSsh2())
  const target = await resolveCloudTarget(config, options)
  let host: Host
  if (persist) {
    const {HolderHost} = await import('../hosts/holder-host.js')
    host = new HolderHost(target, {persistMs: config.controlPersistMs, note: (line) => void process.stderr.write(`${line}\n`)})
  } else {
    const {SshHost} = await import('../hosts/ssh-host.js')
    host = new SshHost(target)
  }
  return new JobSite(host, config.logRoot, config.tmuxSocket ?? '')
}

/** ORCH_HOST (or the EC2 instance's address) resolved through the OpenSSH configuration. */
export async function resolveCloudTarget(config: OrchConfig, options: CloudSiteOptions = {}): Promise<SshTarget> {
  let address = config.host
  if (!address && (config.ec2InstanceId || config.ec2Tag)) {
    const {resolveInstanceAddress} = await import('../cloud/resolve-host.js')
    address = await resolveInstanceAddress(config, {progress: options.progress, start: options.startInstance ?? false, startTimeoutMs: options.startTimeoutMs})
  }
  if (!address) {
    throw configError('no cloud host configured: ORCH_HOST is not set', 'set ORCH_HOST (or ORCH_EC2_INSTANCE_ID) in scripts/cloud/.env or the environment; see .env.example')
  }
  // ORCH_* settings given explicitly (flag, environment, file) win over the OpenSSH configuration.
  const explicit = (name: keyof OrchConfig['sources']) => config.sources[name] !== undefined && config.sources[name]!.kind !== 'default'
  return resolveSshTarget(address, {
    configFile: config.sshConfig,
    user: explicit('ORCH_USER') ? config.user : undefined,
    port: explicit('ORCH_PORT') ? config.port : undefined,
    keyPath: config.sshKey,
    passphrase: config.sshPassphrase,
    knownHostsPath: explicit('ORCH_KNOWN_HOSTS') ? config.knownHosts : undefined,
    defaultKnownHostsPath: config.knownHosts,
    acceptNewHostKey: explicit('ORCH_ACCEPT_NEW_HOST_KEY') ? config.acceptNewHostKey : undefined,
    setting: config.host ? 'ORCH_HOST' : 'the EC2 instance address',
    // Kept as long as connections are (ORCH_CONTROL_PERSIST): 0 or no keeps nothing between commands.
    keepSshGIn: config.controlPersistMs > 0 ? controlDir() : undefined,
  })
}

export interface DisconnectResult {
  host: string
  /** A holder was live and has ended. */
  disconnected: boolean
}

/** `orch host disconnect`: ends the connection holder of the configured host, if one is live. */
export async function disconnectHost(config: OrchConfig): Promise<DisconnectResult> {
  const target = await resolveCloudTarget(config)
  const {HolderHost} = await import('../hosts/holder-host.js')
  const host = new HolderHost(target, {persistMs: 1})
  return {host: host.label, disconnected: await host.disconnect()}
}

export async function siteFor(where: Where, config: OrchConfig, options: CloudSiteOptions = {}): Promise<JobSite> {
  return where === 'local' ? localSite(config) : cloudSite(config, options)
}
