import {Flags} from '@oclif/core'

import {validatePullPatterns} from '../jobs/pull-results.js'
import {type SyncSource, resolveSyncSource} from '../sync/source.js'
import {usageError} from '../errors/errors.js'

/** `orch run` flags that move files: code up (--sync), results down later (--artifacts for orch pull). */
export const syncFlags = {
  sync: Flags.string({
    description: 'mirror DIR (default: the git work tree here, else this directory) to the host first and run the job in the copy; changed files only',
    helpValue: '[DIR]',
    helpGroup: 'SYNC',
  }),
  'remote-dir': Flags.string({description: 'where --sync puts the copy on the host (default ~/work/<basename of DIR>)', helpGroup: 'SYNC'}),
  artifacts: Flags.string({description: 'paths or globs (relative to the job\'s working directory) that orch pull NAME downloads by default (repeatable)', multiple: true, helpGroup: 'SYNC'}),
}

/**
 * `--sync` takes an optional value: alone (before `--`, another flag or the end) it means the
 * default directory, passed on as `--sync=` (oclif flags always want a value).
 */
export function withOptionalSyncValue(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (word === '--') {
      out.push(...argv.slice(i))
      break
    }
    const next = argv[i + 1]
    if (word === '--sync' && (next === undefined || next.startsWith('-'))) out.push('--sync=')
    else out.push(word)
  }
  return out
}

export async function syncSourceFromFlags(flags: {sync?: string; 'remote-dir'?: string; artifacts?: string[]}): Promise<SyncSource | undefined> {
  if (flags.artifacts) validatePullPatterns(flags.artifacts, '--artifacts')
  if (flags.sync === undefined) {
    if (flags['remote-dir'] !== undefined) throw usageError('--remote-dir needs --sync', 'add --sync (and optionally the directory to mirror)')
    return undefined
  }
  return resolveSyncSource(flags.sync, flags['remote-dir'])
}
