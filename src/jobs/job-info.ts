import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import type {JobMeta} from './job-record.js'
import {type JobSite, unknownJob} from './site.js'

export interface JobInfo {
  meta: JobMeta
  startedAt: Date | null
  /** The exit status once finished; 'vanished' when it ended without one; null while it runs. */
  exit: number | 'vanished' | null
  /** Events already shipped to CloudWatch (recorded on the host by the last ship). */
  cloudwatchShipped: number
  /** Its state (a service can end FAILED after a last exit status of 0: restart-storm). */
  state: string
}

/** Read a job's metadata (and optionally record a CloudWatch count) in one round trip. */
export async function jobInfo(site: JobSite, name: string, recordShipped?: number): Promise<JobInfo> {
  const result = await site.run(controlScript('job-info'), [name, recordShipped === undefined ? '' : String(recordShipped)])
  if (result.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  const [meta = '{}', started = '', exit = '', shipped = '0', state = ''] = result.stdout.toString().split('\n')
  return {
    meta: JSON.parse(meta) as JobMeta,
    startedAt: /^\d+$/.test(started.trim()) ? new Date(Number(started.trim()) * 1000) : null,
    exit: exit.trim() === '' ? null : exit.trim() === 'vanished' ? 'vanished' : Number(exit.trim()),
    cloudwatchShipped: Number(shipped.trim()) || 0,
    state: state.trim(),
  }
}
