import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

export interface ApproveOutcome {
  name: string
  host: string
  /** False when it had been approved before: nothing changed. */
  approved: boolean
  alreadyApproved: boolean
}

/** A person's yes for a job waiting for approval on its host: it starts as soon as a slot is free. */
export async function approveJob(site: JobSite, name: string): Promise<ApproveOutcome> {
  const result = await site.run(controlScript('approve'), [name])
  if (result.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  const said = result.stdout.toString().trim()
  const host = site.host.label
  if (result.code === SCRIPT_STATUS.noSpace) throw new OrchError('hostSetup', `cannot approve ${name} on ${host}: ${said} (disk full?)`, 'free space there (orch prune), then approve again')
  const [word, state = '?'] = said.split(/\s+/)
  if (result.code === 0 && word === 'approved') return {name, host, approved: true, alreadyApproved: false}
  if (result.code === 0 && word === 'already') return {name, host, approved: false, alreadyApproved: true}
  if (result.code === 0 && word === 'not-held') throw new OrchError('conflict', `job ${name} is not waiting for approval (it is ${state})`, 'only a job held by its cost limit (--max-cost, ORCH_MAX_COST) needs orch approve')
  if (result.code === 0 && word === 'refused') throw new OrchError('conflict', `job ${name} was refused or ended before it was approved (it is ${state}); it will not run`, `run it again with --approve: orch run ${name} --replace --approve -- …`)
  throw new OrchError('failure', `approving ${name} failed on ${host} (status ${result.code}): ${result.stderr.trim() || said}`, 'check the host with ssh')
}
