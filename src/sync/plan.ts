/**
 * Which entries travel: those whose type, size, mtime (whole seconds) or permission bits differ
 * from the host's manifest, or whose symlink target differs. What is deleted: paths the previous
 * sync placed that are gone locally; files the job created on the host are never deleted (its
 * outputs survive the next sync), a path whose type changed is replaced.
 */
import {type LocalEntry, type RemoteEntry, isSafeRelativePath} from './listing.js'

export interface SyncPlan {
  send: LocalEntry[]
  /** Removed with rm -rf before the new entries are placed: deletions and type changes. */
  remove: string[]
  /** Directories removed (when empty) afterwards, deepest first. */
  rmdirs: string[]
  /** The new list of placed paths. */
  managed: string[]
  deleted: number
  /** Nothing to do on the host at all. */
  noop: boolean
}

function sameEntry(local: LocalEntry, remote: RemoteEntry): boolean {
  if (local.kind !== remote.kind) return false
  if (local.kind === 'd') return true
  if (local.kind === 'l') return local.target === remote.target
  return local.size === remote.size && local.mtime === remote.mtime && (local.mode & 0o777) === (remote.mode & 0o777)
}

const depth = (path: string) => path.split('/').length

/** What to send, remove and record, from the local tree and one read of the host's. */
export function planSync(local: ReadonlyMap<string, LocalEntry>, remote: ReadonlyMap<string, RemoteEntry>, previouslyPlaced: readonly string[]): SyncPlan {
  const send: LocalEntry[] = []
  const remove: string[] = []
  const rmdirs: string[] = []
  let deleted = 0
  for (const entry of local.values()) {
    const there = remote.get(entry.path)
    if (!there) send.push(entry)
    else if (!sameEntry(entry, there)) {
      // A type change (file ↔ directory ↔ symlink) replaces what is there; a changed file or
      // symlink is replaced when placed (never written through its old inode).
      if (there.kind !== entry.kind) remove.push(entry.path)
      send.push(entry)
    }
  }
  const removed = new Set(remove)
  for (const path of new Set(previouslyPlaced)) {
    if (local.has(path) || !isSafeRelativePath(path)) continue
    // Only what is there now, as listed (never through a symlinked directory).
    const there = remote.get(path)
    if (!there) continue
    if (there.kind === 'd') rmdirs.push(path)
    else if (!removed.has(path)) {
      remove.push(path)
      deleted++
    }
  }
  rmdirs.sort((a, b) => depth(b) - depth(a))
  send.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const managed = [...local.keys()]
  const samePlaced = previouslyPlaced.length === managed.length && new Set(previouslyPlaced).size === managed.length && previouslyPlaced.every((path) => local.has(path))
  return {send, remove, rmdirs, managed, deleted, noop: send.length === 0 && remove.length === 0 && rmdirs.length === 0 && samePlaced}
}
