import {OrchError} from '../errors/errors.js'
import {runTool} from './host-tools.js'
import type {JobSite} from './site.js'

export interface PruneOutcome {
  where: 'cloud' | 'local'
  host: string
  dryRun: boolean
  olderThanDays: number
  deleted: Array<{name: string; bytes: number}>
  bytesFreed: number
}

/**
 * Delete job directories whose newest file is older than the limit — never a running or queued
 * job's. The same POSIX script cron runs on the host (scripts/cloud/log-retention.sh) does the work
 * here, so orch prune and the crontab line can never disagree.
 */
export async function pruneJobs(site: JobSite, options: {olderThanDays: number; dryRun: boolean}): Promise<PruneOutcome> {
  const args = ['--older-than-days', String(options.olderThanDays), ...(options.dryRun ? ['--dry-run'] : [])]
  const result = await runTool(site, 'log-retention', args)
  const deleted: PruneOutcome['deleted'] = []
  for (const line of result.stdout.toString().split('\n')) {
    const match = /^(?:deleted|would delete) (\S+) (\d+) bytes$/.exec(line)
    if (match) deleted.push({name: match[1]!, bytes: Number(match[2])})
  }
  if (result.code !== 0) {
    throw new OrchError('failure', `prune on ${site.host.label} failed: ${result.stderr.trim().split('\n').at(-1) ?? `status ${result.code}`}`, 'check the log root\'s permissions')
  }
  return {
    where: site.target,
    host: site.host.label,
    dryRun: options.dryRun === true,
    olderThanDays: options.olderThanDays,
    deleted,
    bytesFreed: deleted.reduce((sum, job) => sum + job.bytes, 0),
  }
}
