/**
 * `orch pull NAME --diff`: the uncommitted changes of the job's git work tree, as a binary patch,
 * applied to the local work tree with `git apply --3way` — first tried on a scratch index that
 * holds the local tree as it is (tracked and untracked files), so a conflict is found before
 * anything changes; on a conflict nothing is changed at all. The real index is never touched.
 */
import {copyFile, lstat, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {OrchError, usageError} from '../errors/errors.js'
import {git} from '../hosts/git.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

export interface DiffReport {
  name: string
  /** Whether a patch was applied (false: the host had no uncommitted changes). */
  applied: boolean
  /** Files the patch changes. */
  files: number
  /** The HEAD commit of the host's work tree, or null when it has none. */
  base: string | null
  /** The local work tree the patch was applied to. */
  workTree: string
}

/** The local work tree `--diff` applies to: the one holding cwd. Checked before any host is asked. */
export async function localWorkTree(cwd = process.cwd()): Promise<string> {
  const top = await git(cwd, ['rev-parse', '--show-toplevel'])
  if (top.code !== 0) {
    throw usageError('orch pull --diff applies the host\'s changes to the git work tree you are in, and this is not one', 'cd into your clone of the repository first')
  }
  return top.stdout.toString().replace(/\n$/, '')
}

/** Fetch the host's uncommitted changes and apply them here; on a conflict change nothing. */
export async function pullDiff(site: JobSite, name: string, workTree: string, warn: (message: string) => void): Promise<DiffReport> {
  const result = await site.run(controlScript('pull'), [name, 'diff'])
  const where = site.host.label
  switch (result.code) {
    case SCRIPT_STATUS.ok:
      break
    case SCRIPT_STATUS.unknownJob:
      throw unknownJob(name)
    case SCRIPT_STATUS.noCwd:
      throw new OrchError('failure', `the working directory of ${name} (${result.stderr.trim()}) no longer exists on ${where}`, 'there are no changes to bring')
    case SCRIPT_STATUS.toolMissing:
      throw new OrchError('hostSetup', `git is not installed on ${where}`, 'install it (sudo apt-get install -y git)')
    case SCRIPT_STATUS.notGit:
      throw new OrchError('failure', `the working directory of ${name} on ${where} is not in a git work tree`, '--diff needs a job that ran in one (orch run --sync of a git repository puts one there)')
    default:
      throw new OrchError('failure', `reading the changes of ${name} on ${where} failed (status ${result.code}): ${result.stderr.trim()}`, 'check git in the job\'s directory on the host')
  }
  const newline = result.stdout.indexOf(0x0a)
  const base = newline > 0 ? result.stdout.subarray(0, newline).toString('ascii').trim() : ''
  const patch = newline === -1 ? Buffer.alloc(0) : result.stdout.subarray(newline + 1)
  const report: DiffReport = {name, applied: false, files: 0, base: base || null, workTree}
  if (patch.length === 0) return report
  report.files = (patch.toString('latin1').match(/^diff --git /gm) ?? []).length

  const scratch = await mkdtemp(join(tmpdir(), 'orch-diff-'))
  try {
    const patchFile = join(scratch, 'changes.patch')
    await writeFile(patchFile, patch)
    // A scratch index holding the local tree exactly as it is (tracked and untracked files).
    const indexPath = await git(workTree, ['rev-parse', '--git-path', 'index'])
    const realIndex = resolve(workTree, indexPath.stdout.toString().trim())
    const asIs = join(scratch, 'index')
    const hasIndex = await lstat(realIndex).then(
      (info) => info.isFile(),
      () => false,
    )
    if (hasIndex) await copyFile(realIndex, asIs)
    const added = await git(workTree, ['add', '-A', '.'], {GIT_INDEX_FILE: asIs})
    if (added.code !== 0) throw new OrchError('failure', `git add (into a scratch index) failed in ${workTree}: ${added.stderr.trim()}`, 'check the repository with git status')
    // The trial: the 3-way apply into a copy of that index only (no work tree), to find conflicts.
    const trialIndex = join(scratch, 'trial-index')
    await copyFile(asIs, trialIndex)
    const trial = await git(workTree, ['apply', '--3way', '--cached', patchFile], {GIT_INDEX_FILE: trialIndex})
    if (trial.code !== 0) {
      const unmerged = await git(workTree, ['ls-files', '-u', '-z'], {GIT_INDEX_FILE: trialIndex})
      const paths = [...new Set(unmerged.stdout.toString().split('\0').flatMap((line) => (line.includes('\t') ? [line.slice(line.indexOf('\t') + 1)] : [])))]
      if (paths.length > 0) {
        throw new OrchError('conflict', `the changes of ${name} conflict with your local changes in ${paths.join(', ')}; nothing was changed`, `commit or stash your changes to ${paths.length === 1 ? 'that file' : 'those files'}, then run orch pull ${name} --diff again`)
      }
      const why = trial.stderr.split('\n').filter((line) => /^error:/.test(line)).join('; ') || trial.stderr.trim()
      const known = base ? (await git(workTree, ['cat-file', '-e', `${base}^{commit}`])).code === 0 : true
      throw new OrchError(
        'conflict',
        `the changes of ${name} do not apply to ${workTree}: ${why}; nothing was changed`,
        known ? 'your tree has moved on from the job\'s; commit or stash, then retry' : `the host's commit ${base.slice(0, 12)} is not in this repository: fetch it (or sync again) first`,
      )
    }
    // The real thing: the work tree (and the scratch index, thrown away); the user's index is untouched.
    const applied = await git(workTree, ['apply', '--3way', patchFile], {GIT_INDEX_FILE: asIs})
    if (applied.code !== 0) {
      warn(applied.stderr.trim())
      throw new OrchError('failure', `git apply failed in ${workTree} after a clean trial: ${applied.stderr.trim()}`, 'did files change meanwhile? check git status')
    }
    report.applied = true
    return report
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

