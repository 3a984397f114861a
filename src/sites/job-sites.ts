import type {OrchConfig} from '../config/config.js'
import type {Progress} from '../terminal/progress.js'
import type {JobSite} from '../jobs/site.js'
import {type Where, cloudConfigured, cloudSite, localSite} from './sites.js'

/** The sites `orch status` and `orch list` read: this machine, plus the cloud host when configured. */
export async function sitesToList(config: OrchConfig, where?: Where, progress?: Progress): Promise<JobSite[]> {
  const sites: JobSite[] = []
  if (where !== 'cloud') sites.push(localSite(config))
  if (where === 'cloud' || (where === undefined && cloudConfigured(config))) sites.push(await cloudSite(config, {progress}))
  return sites
}

export async function closeAll(sites: readonly JobSite[]): Promise<void> {
  await Promise.all(sites.map((site) => site.close()))
}

/** Run `work` on every site `orch list` reads (see sitesToList), closing them afterwards. */
export async function withListedSites<T>(config: OrchConfig, where: Where | undefined, work: (sites: JobSite[]) => Promise<T>): Promise<T> {
  const sites = await sitesToList(config, where)
  try {
    return await work(sites)
  } finally {
    await closeAll(sites)
  }
}
