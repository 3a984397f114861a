import type {OrchConfig} from '../config/config.js'
import type {Progress} from '../output/progress.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import type {JobSite} from './site.js'
import {type Where, cloudConfigured, cloudSite, localSite, unknownJob} from './sites.js'

/**
 * Which site holds a job: this machine first (no connection needed), then the cloud host. With
 * `where`, only that site is asked.
 */
export async function locateJob(config: OrchConfig, name: string, where?: Where, progress?: Progress): Promise<{site: JobSite; finished: boolean}> {
  const candidates: Where[] = where ? [where] : cloudConfigured(config) ? ['local', 'cloud'] : ['local']
  for (const candidate of candidates) {
    const site = candidate === 'local' ? localSite(config) : await cloudSite(config, {progress})
    const result = await site.run(controlScript('locate'), [name])
    if (result.code === SCRIPT_STATUS.ok) return {site, finished: result.stdout.toString().startsWith('finished')}
    await site.close()
  }
  throw unknownJob(name)
}
