import {usageError} from '../errors/errors.js'

/** A job name is valid as a tmux session name and as a directory name. */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
export const JOB_NAME_FORM = 'letters, digits, - and _, starting with a letter or digit, at most 64 characters (e.g. lros-backfill-20260216-1430)'

export function isJobName(name: string): boolean {
  return JOB_NAME_PATTERN.test(name)
}

export function validateJobName(name: string): string {
  if (!isJobName(name)) {
    const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)
    throw usageError(`invalid job name ${shown}`, `use ${JOB_NAME_FORM}`)
  }
  return name
}

/** `<name>-YYYYMMDD-HHMM` in local time, the naming convention for job names (README, "Jobs"). */
export function stampJobName(name: string, now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}`
  return validateJobName(`${name}-${stamp}`)
}
