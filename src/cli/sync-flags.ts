import {validatePullPatterns} from '../jobs/pull-results.js'
import {usageError} from '../errors/errors.js'
import {type SyncSource, resolveSyncSource} from '../sync/source.js'
import {flag} from './flags.js'

/** `orch run` flags that move files: code up (--sync), results down later (--artifacts for orch pull). */
export const syncFlags = {
  sync: flag.option({
    description: 'mirror DIR (default: the git work tree here, else this directory) to the host first and run the job in the copy; changed files only',
    helpValue: '[DIR]',
    helpGroup: 'SYNC',
    optionalValue: true,
  }),
  'remote-dir': flag.option({description: 'where --sync puts the copy on the host (default ~/work/<basename of DIR>)', helpGroup: 'SYNC'}),
  artifacts: flag.multiple({
    description: "paths or globs (relative to the job's working directory) that orch pull NAME downloads by default (repeatable)",
    helpGroup: 'SYNC',
  }),
}

export async function syncSourceFromFlags(flags: {sync?: string; 'remote-dir'?: string; artifacts?: string[]}): Promise<SyncSource | undefined> {
  if (flags.artifacts) validatePullPatterns(flags.artifacts, '--artifacts')
  if (flags.sync === undefined) {
    if (flags['remote-dir'] !== undefined) throw usageError('--remote-dir needs --sync', 'add --sync (and optionally the directory to mirror)')
    return undefined
  }
  return resolveSyncSource(flags.sync, flags['remote-dir'])
}
