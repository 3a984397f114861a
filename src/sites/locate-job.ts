import type {OrchConfig} from '../config/config.js'
import type {Progress} from '../terminal/progress.js'
import {SCRIPT_STATUS, controlScript} from '../jobs/host-scripts.js'
import {type JobSite, unknownJob} from '../jobs/site.js'
import {type Where, cloudConfigured, cloudSite, localSite} from './sites.js'

/**
 * Which site holds a job: this machine first (a local check, no connection), else the cloud host.
 * The cloud host is not asked separately: every job script there exits 4 for an unknown job, so
 * the command's own round trip answers that question too.
 */
export async function locateJob(config: OrchConfig, name: string, where?: Where, progress?: Progress): Promise<{site: JobSite}> {
  if (where !== 'cloud') {
    const local = localSite(config)
    const result = await local.run(controlScript('locate'), [name])
    if (result.code === SCRIPT_STATUS.ok) return {site: local}
    if (where === 'local' || !cloudConfigured(config)) throw unknownJob(name)
  }
  return {site: await cloudSite(config, {progress})}
}

/** Run `work` on the site that holds job `name` (here or the cloud host), closing it afterwards. */
export async function withJobSite<T>(config: OrchConfig, name: string, where: Where | undefined, work: (site: JobSite) => Promise<T>): Promise<T> {
  const {site} = await locateJob(config, name, where)
  try {
    return await work(site)
  } finally {
    await site.close()
  }
}
