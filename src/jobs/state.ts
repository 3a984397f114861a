/**
 * SPEC §3 job states as a discriminated union, with the questions people ask answered here only.
 * State is derived from what the host holds (the job directory and the wrapper's liveness).
 */
export type JobStatus =
  | {state: 'QUEUED'}
  | {state: 'STARTING'}
  | {state: 'RUNNING'}
  | {state: 'DONE'; exitCode: 0}
  | {state: 'FAILED'; exitCode: number | null; vanished: boolean}
  | {state: 'STOPPED'; exitCode: number | null}

export type JobStateName = JobStatus['state']

export const UNFINISHED_STATES: readonly JobStateName[] = ['QUEUED', 'STARTING', 'RUNNING']

export function isFinished(status: JobStatus): boolean {
  return !UNFINISHED_STATES.includes(status.state)
}

export function exitCodeOf(status: JobStatus): number | null {
  return 'exitCode' in status ? status.exitCode : null
}

/** The facts read from a job directory. */
export interface JobFacts {
  exitCode?: number
  stopped: boolean
  /** The wrapper process is running. */
  alive: boolean
  hasPid: boolean
  started: boolean
  queued: boolean
  /** No pid was ever written and the directory is old: the start crashed. */
  staleStart: boolean
}

export function deriveStatus(facts: JobFacts): JobStatus {
  if (facts.exitCode !== undefined) {
    if (facts.stopped) return {state: 'STOPPED', exitCode: facts.exitCode}
    return facts.exitCode === 0 ? {state: 'DONE', exitCode: 0} : {state: 'FAILED', exitCode: facts.exitCode, vanished: false}
  }
  if (facts.alive) {
    if (facts.queued && !facts.started) return {state: 'QUEUED'}
    return facts.started ? {state: 'RUNNING'} : {state: 'STARTING'}
  }
  if (!facts.hasPid && !facts.staleStart) return {state: 'STARTING'}
  // The session is gone without an exit line: host reboot, tmux kill-server, a crash.
  if (facts.stopped) return {state: 'STOPPED', exitCode: null}
  return {state: 'FAILED', exitCode: null, vanished: true}
}
