import type {OrchConfig} from '../config/config.js'
import {JobSite} from '../jobs/site.js'
import type {SharedSshHost} from '../hosts/shared-ssh-host.js'
import {type CloudSiteOptions, keepCloudSitesOpen, resolveCloudTarget} from './sites.js'

/** A cloud site kept open by a long-lived process: closing it after a call keeps the connection. */
class KeptSite extends JobSite {
  override close(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * For a process that serves many calls (orch mcp): every cloud site the core functions ask for
 * (sites.ts cloudSite) comes from here, one per destination, over one SSH connection shared by the
 * calls in flight (hosts/shared-ssh-host.ts) and kept open between them. A destination is what
 * resolving the host reads from the configuration, so a changed .env gets a connection of its own.
 * `closeKeptSites` ends them all.
 */
export function keepSitesOpen(): {closeKeptSites: () => Promise<void>} {
  const kept = new Map<string, Promise<{site: KeptSite; host: SharedSshHost}>>()
  keepCloudSitesOpen(async (config, options) => {
    const key = destinationKey(config)
    let entry = kept.get(key)
    if (!entry) {
      entry = openKept(config, options)
      kept.set(key, entry)
      // A destination that could not be resolved is asked again next time, not remembered.
      entry.catch(() => kept.delete(key))
    }
    return (await entry).site
  })
  return {
    closeKeptSites: async () => {
      keepCloudSitesOpen(undefined)
      const entries = await Promise.allSettled(kept.values())
      kept.clear()
      await Promise.all(entries.map((entry) => (entry.status === 'fulfilled' ? entry.value.host.close() : undefined)))
    },
  }
}

async function openKept(config: OrchConfig, options: CloudSiteOptions): Promise<{site: KeptSite; host: SharedSshHost}> {
  void import('../hosts/ssh-host.js').then((m) => m.preloadSsh2()).catch(() => {})
  const target = await resolveCloudTarget(config, options)
  const {SharedSshHost} = await import('../hosts/shared-ssh-host.js')
  const host = new SharedSshHost(target)
  return {site: new KeptSite(host, config.logRoot, config.tmuxSocket ?? ''), host}
}

function destinationKey(config: OrchConfig): string {
  const source = (name: keyof OrchConfig['sources']) => config.sources[name]?.kind ?? 'default'
  return JSON.stringify([
    config.host,
    config.ec2InstanceId,
    config.ec2Tag,
    config.region,
    config.ec2UsePrivateIp,
    config.sshConfig,
    config.user,
    source('ORCH_USER'),
    config.port,
    source('ORCH_PORT'),
    config.sshKey,
    config.sshPassphrase,
    config.knownHosts,
    source('ORCH_KNOWN_HOSTS'),
    config.acceptNewHostKey,
    source('ORCH_ACCEPT_NEW_HOST_KEY'),
    config.logRoot,
    config.tmuxSocket,
  ])
}
