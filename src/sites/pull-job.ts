import type {OrchConfig} from '../config/config.js'
import {usageError} from '../errors/errors.js'
import {withJobSite} from './locate-job.js'
import {type DiffReport, localWorkTree, pullDiff} from '../jobs/pull-diff.js'
import {type PullReport, pullResults, validatePullPatterns} from '../jobs/pull-results.js'
import type {Where} from './sites.js'

export interface PullRequest {
  where?: Where
  /** Paths or globs relative to the job's working directory (default: its --artifacts). */
  paths: string[]
  to?: string
  /** Apply the job's uncommitted changes to the local work tree instead of downloading files. */
  diff: boolean
  warn: (message: string) => void
}

/** orch pull: the job's log directory and results into DIR, or its uncommitted changes applied here (--diff). */
export async function pullJob(config: OrchConfig, name: string, request: PullRequest): Promise<PullReport | DiffReport> {
  if (request.diff && (request.paths.length > 0 || request.to !== undefined)) throw usageError('--diff takes no PATH or --to', 'pull files and the patch with two commands')
  validatePullPatterns(request.paths)
  const workTree = request.diff ? await localWorkTree() : undefined
  return withJobSite<PullReport | DiffReport>(config, name, request.where, (site) =>
    workTree ? pullDiff(site, name, workTree, request.warn) : pullResults(site, name, request.paths, request.to ?? `orch-results/${name}`, request.warn),
  )
}
