import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

export interface RollbackPlan {
  name: string
  host: string
  workTree: string
  commit: string
  /** Commits made after the job started, which the reset drops. */
  commitsDiscarded: string[]
  /** Uncommitted changes (git status --porcelain lines), which the reset loses. */
  uncommitted: string[]
}

function scriptError(code: number, name: string, site: JobSite, stderr: string): OrchError {
  switch (code) {
    case SCRIPT_STATUS.unknownJob:
      return unknownJob(name)
    case SCRIPT_STATUS.inUse:
      return new OrchError('conflict', `job ${name} has not finished; rolling back under it would corrupt its work`, `wait for it, or orch stop ${name} first`)
    case SCRIPT_STATUS.noCommit:
      return new OrchError('failure', `job ${name} recorded no starting commit: its --cwd was not inside a git work tree on ${site.host.label}`, 'rollback needs a job started with --cwd in a git repository')
    default:
      return new OrchError('failure', `git failed on ${site.host.label}: ${stderr.trim().split('\n').at(-1) ?? code}`, 'check the work tree with ssh')
  }
}

/** L3: what `git reset --hard <starting commit>` would discard in the job's work tree. */
export async function planRollback(site: JobSite, name: string): Promise<RollbackPlan> {
  const result = await site.run(controlScript('rollback'), [name, 'plan'])
  if (result.code !== 0) throw scriptError(result.code, name, site, result.stderr)
  const plan: RollbackPlan = {name, host: site.host.label, workTree: '', commit: '', commitsDiscarded: [], uncommitted: []}
  for (const line of result.stdout.toString().split('\n')) {
    if (line.startsWith('root ')) plan.workTree = line.slice(5)
    else if (line.startsWith('commit ')) plan.commit = line.slice(7)
    else if (line.startsWith('C ')) plan.commitsDiscarded.push(line.slice(2))
    else if (line.startsWith('U ')) plan.uncommitted.push(line.slice(2))
  }
  return plan
}

export async function applyRollback(site: JobSite, name: string): Promise<void> {
  const result = await site.run(controlScript('rollback'), [name, 'apply'])
  if (result.code !== 0) throw scriptError(result.code, name, site, result.stderr)
}
