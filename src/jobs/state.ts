/**
 * Job states as a discriminated union, with the questions people ask answered here only. The
 * host decides a job's state (src/jobs/sh/job-lib.sh); this is its shape on this side.
 */
export type JobStatus =
  | {state: 'QUEUED'}
  | {state: 'STARTING'}
  | {state: 'RUNNING'}
  | {state: 'DONE'; exitCode: 0}
  | {state: 'FAILED'; exitCode: number | null; vanished: boolean}
  | {state: 'STOPPED'; exitCode: number | null}

export type JobStateName = JobStatus['state']

/** Every state, in a job's order (what orch mcp's schemas enumerate). */
export const STATE_NAMES = ['QUEUED', 'STARTING', 'RUNNING', 'DONE', 'FAILED', 'STOPPED'] as const satisfies readonly JobStateName[]
export const UNFINISHED_STATES: readonly JobStateName[] = ['QUEUED', 'STARTING', 'RUNNING']

export function isStateName(text: string): text is JobStateName {
  return (STATE_NAMES as readonly string[]).includes(text)
}

export function isFinished(status: JobStatus): boolean {
  return !UNFINISHED_STATES.includes(status.state)
}

export function exitCodeOf(status: JobStatus): number | null {
  return 'exitCode' in status ? status.exitCode : null
}

/**
 * The exit status a command that waited for a job ends with: the job's own, and never 0 for a job
 * that did not succeed (a FAILED job without a recorded status vanished: 1, orch's "failure").
 */
export function waitedExitStatus(state: JobStateName, exitCode: number | null): number {
  if (exitCode !== null && (exitCode !== 0 || state === 'DONE')) return exitCode
  return state === 'DONE' ? 0 : 1
}

/** The status for a state the host reported, with the exit status it recorded (if any). */
export function statusOf(state: JobStateName, exitCode: number | null): JobStatus {
  switch (state) {
    case 'QUEUED':
    case 'STARTING':
    case 'RUNNING':
      return {state}
    case 'DONE':
      return {state, exitCode: 0}
    case 'FAILED':
      return {state, exitCode, vanished: exitCode === null}
    case 'STOPPED':
      return {state, exitCode}
  }
}
