/**
 * `orch run --sync`: mirror a local tree to the job's host before the job starts, over the job's
 * own SSH connection, in one exec (see ../jobs/sh/sync.sh for the host's side and its atomicity).
 * The local listing runs while the host lists its copy; the plan is made from both, and only
 * what differs travels.
 */
import {isAbsolute, join, posix} from 'node:path'
import {Readable} from 'node:stream'

import bytes from 'bytes'

import {TransportError} from '../hosts/host.js'
import {SCRIPT_STATUS, controlScript} from '../jobs/host-scripts.js'
import type {JobSite} from '../jobs/site.js'
import type {JobSpec} from '../jobs/start-job.js'
import {OrchError} from '../errors/errors.js'
import type {Progress} from '../terminal/progress.js'
import {listLocalTree, parseManifest} from './listing.js'
import {type SyncPlan, planSync} from './plan.js'
import {type SyncSource, ignoredDirectories} from './source.js'
import {type Frames, FrameReader, tarStream} from './transfer.js'

/** What `orch run --json` reports as `sync`. */
export interface SyncReport {
  /** Files and symlinks sent. */
  files: number
  /** Bytes of file content sent. */
  bytes: number
  /** Files and symlinks deleted on the host (gone locally since the last sync). */
  deleted: number
  /** The directory on the host (absolute). */
  remoteDir: string
  /** Local entries left out, with why (git submodules, names that are not UTF-8); absent when none. */
  skipped?: string[]
}

/** The job's working directory on the host: the synced copy, at the place the caller stands in it. */
export function jobCwdAfterSync(report: SyncReport, source: SyncSource, requestedCwd?: string): string {
  if (requestedCwd && (requestedCwd.startsWith('/') || requestedCwd === '~' || requestedCwd.startsWith('~/'))) return requestedCwd
  const inside = requestedCwd ?? source.cwdInside
  return inside ? posix.join(report.remoteDir, inside) : report.remoteDir
}

/**
 * Bring the host's copy up to date. Throws (and the job must not start) when the sync failed;
 * the host's previous copy is then unchanged, except after a failure while placing (75).
 */
export async function syncTree(site: JobSite, source: SyncSource, job: {name: string; replace: boolean}, onProgress?: (text: string) => void): Promise<SyncReport> {
  const where = site.host.label
  // The local listing runs while the connection opens and the host lists its copy.
  const treePromise = listLocalTree(source)
  treePromise.catch(() => {})
  let plan: SyncPlan | undefined
  let frames: Frames | undefined
  let skipped: string[] = []
  /** A local failure (listing, protocol): the stream is ended without "tar", the host changes nothing. */
  let localError: Error | undefined
  const failure: {error?: Error} = {}
  let settlePlan!: (plan: SyncPlan | undefined) => void
  const planned = new Promise<SyncPlan | undefined>((done) => (settlePlan = done))
  const reader = new FrameReader()
  const stderr: Buffer[] = []

  async function* input(): AsyncGenerator<Buffer> {
    const decided = await planned
    if (!decided) return
    if (decided.noop) yield Buffer.from('noop\n')
    else yield* tarStream(source.localDir, decided, failure)
  }

  const onStdout = async (chunk: Buffer) => {
    if (reader.done || localError) return
    try {
      const got = reader.push(chunk)
      if (!got) return
      frames = got
      const tree = await treePromise
      skipped = tree.skipped
      plan = planSync(tree.entries, parseManifest(got.manifest), got.placed)
      if (!plan.noop) onProgress?.(`syncing ${plan.send.filter((e) => e.kind !== 'd').length} file(s) to ${where}:${got.dir}…`)
      settlePlan(plan)
    } catch (error) {
      localError = error as Error
      settlePlan(undefined)
    }
  }

  // Ignored directories are left unlisted on the host ([ * ? \ escaped for find -path).
  const prune = (await ignoredDirectories(source)).map((dir) => dir.replace(/[[\]*?\\]/g, '[$&]'))
  let code: number
  try {
    code = await site.stream(controlScript('sync'), [job.name, job.replace ? '1' : '0', source.remoteDir, ...prune], {
      input: Readable.from(input(), {objectMode: false, highWaterMark: 1 << 20}),
      onStdout,
      onStderr: (chunk) => void stderr.push(chunk),
    })
  } catch (error) {
    if (localError) throw localError
    if (error instanceof TransportError) {
      throw new OrchError('connection', `the connection to ${where} broke during the sync: ${error.message}`, 'the job was not started; the copy on the host is unchanged unless the break came while files were put in place; retry')
    }
    throw error
  } finally {
    settlePlan(undefined)
  }
  // Local problems first: they explain the host's "incomplete".
  if (failure.error) {
    throw new OrchError('failure', `cannot read ${failure.error.message.replace(/^[A-Z]+: /, '')}`, 'nothing changed on the host and the job was not started; fix the file\'s permissions or list it in .orchignore')
  }
  const said = Buffer.concat(stderr).toString().trim()
  const remote = frames?.dir || source.remoteDir
  switch (code) {
    case 0:
      break
    case SCRIPT_STATUS.inUse:
      throw new OrchError('conflict', `job name ${job.name} is in use by a job that has not finished`, `pick another name, or stop it first: orch stop ${job.name}`)
    case SCRIPT_STATUS.exists:
      throw new OrchError('conflict', `job ${job.name} already ran on ${where} and its log is kept`, 'pick another name (orch run --stamp adds the time), or pass --replace to delete the old log')
    case SCRIPT_STATUS.toolMissing:
      throw new OrchError('hostSetup', `tar is not installed on ${where}`, 'install it (sudo apt-get install -y tar, or sudo dnf install -y tar)')
    case SCRIPT_STATUS.rootUnwritable:
      throw new OrchError('hostSetup', `cannot create ${remote} on ${where}${said ? `: ${said}` : ''}`, 'check --remote-dir and its parent\'s permissions')
    case SCRIPT_STATUS.syncLockBusy:
      throw new OrchError('conflict', `another sync to ${where}:${remote} has been running for 5 minutes`, 'wait for it to finish, or sync to another --remote-dir')
    case SCRIPT_STATUS.syncUnpackFailed:
    case SCRIPT_STATUS.syncIncomplete:
      if (localError) throw localError
      throw new OrchError('failure', `the sync to ${where}:${remote} failed${said ? `: ${said}` : ''}`, 'the copy on the host is unchanged and the job was not started (is the disk full?); retry')
    case SCRIPT_STATUS.syncPlaceFailed:
      throw new OrchError('failure', `putting the synced files in place in ${where}:${remote} failed${said ? `: ${said}` : ''}`, 'the copy may be partly updated and the job was not started; fix the cause and sync again')
    default:
      if (localError) throw localError
      throw new OrchError('failure', `the sync to ${where} failed (status ${code})${said ? `: ${said}` : ''}`, 'the job was not started; check the host with ssh, then retry')
  }
  if (localError) throw localError
  if (!plan || !frames) throw new OrchError('internal', 'the sync finished without reading the host\'s manifest')
  const sent = plan.send.filter((entry) => entry.kind !== 'd')
  return {
    files: sent.length,
    bytes: sent.reduce((sum, entry) => sum + (entry.kind === 'f' ? entry.size : 0), 0),
    deleted: plan.deleted,
    remoteDir: frames.dir,
    ...(skipped.length > 0 ? {skipped} : {}),
  }
}

/**
 * `orch run --sync` before the job is created: a cloud job's tree is mirrored and the job runs in
 * the copy; a local job simply runs in the local directory (nothing to copy).
 */
export async function syncBeforeJob(
  site: JobSite,
  source: SyncSource,
  spec: JobSpec,
  ui: {progress: Progress; warn(message: string): void},
): Promise<{spec: JobSpec; report?: SyncReport}> {
  if (site.host.kind === 'local') {
    const given = spec.cwd && (isAbsolute(spec.cwd) || spec.cwd === '~' || spec.cwd.startsWith('~/'))
    const cwd = given ? spec.cwd : join(source.localDir, spec.cwd ?? source.cwdInside)
    return {spec: {...spec, cwd}}
  }
  ui.progress.update(`comparing ${source.localDir} with ${site.host.label}:${source.remoteDir}…`)
  const report = await syncTree(site, source, spec, (text) => ui.progress.update(text))
  ui.progress.stop()
  ui.warn(syncedLine(report, site.host.label))
  for (const entry of report.skipped ?? []) ui.warn(`not synced: ${entry}`)
  return {spec: {...spec, cwd: jobCwdAfterSync(report, source, spec.cwd)}, report}
}

/** The one line `orch run --sync` prints on stderr once the tree is mirrored. */
export function syncedLine(report: SyncReport, where: string): string {
  const files = `${report.files} file${report.files === 1 ? '' : 's'}`
  const deleted = report.deleted ? `, deleted ${report.deleted}` : ''
  return `synced ${files} (${bytes(report.bytes, {unitSeparator: ' '}) ?? `${report.bytes} B`})${deleted} to ${where}:${report.remoteDir}`
}
