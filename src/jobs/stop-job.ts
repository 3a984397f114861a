import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

export interface StopOutcome {
  name: string
  state: 'STOPPED' | 'DONE' | 'FAILED'
  exitCode: number | null
  /** True when the job had already finished and nothing was done. */
  alreadyFinished: boolean
  host: string
}

/** End a job: TERM its process group, KILL after `graceSeconds`; the log still ends with [EXIT: N]. */
export async function stopJob(site: JobSite, name: string, graceSeconds: number): Promise<StopOutcome> {
  const result = await site.run(controlScript('stop'), [name, String(graceSeconds)])
  if (result.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  if (result.code === SCRIPT_STATUS.slurmMissing || result.code === SCRIPT_STATUS.slurmUnreachable) {
    throw new OrchError('failure', `cannot stop ${name} on ${site.host.label}: Slurm ${result.code === SCRIPT_STATUS.slurmMissing ? 'tools (squeue, scancel) are not installed' : `did not answer: ${result.stderr.trim().split('\n').at(-1) ?? ''}`}`, 'check the cluster with ssh (squeue, sinfo); nothing was changed')
  }
  const words = result.stdout.toString().trim().split(/\s+/)
  const word = words[0]
  if (result.code !== 0 || (word !== 'already' && word !== 'stopped')) {
    throw new OrchError('failure', `stopping ${name} failed on ${site.host.label}: ${result.stderr.trim() || result.stdout.toString().trim()}`, 'check the host with ssh')
  }
  const code = word === 'already' ? words[2] : words[1]
  const exitCode = code !== undefined && /^\d+$/.test(code) ? Number(code) : null
  if (word === 'already') {
    const state = words[1] === 'DONE' || words[1] === 'STOPPED' ? words[1] : 'FAILED'
    return {name, state, exitCode, alreadyFinished: true, host: site.host.label}
  }
  return {name, state: 'STOPPED', exitCode, alreadyFinished: false, host: site.host.label}
}
