import {OrchError} from '../errors/errors.js'
import {installTools} from './host-tools.js'
import {cronWord} from './cron-lines.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

/**
 * A service (orch run --restart): the wrapper on the host runs the command again when it ends, with
 * no daemon beside it (src/jobs/sh/orch-wrapper.sh, "services").
 */
export interface ServicePolicy {
  /** `always`: whatever the exit status; `on-failure`: only after a non-zero one (exit 0 ends it DONE). `no`: a batch job with a memory cap. */
  restart: 'always' | 'on-failure' | 'no'
  /** Quick restarts in a row (each within minUptimeSeconds of its start) before the job ends FAILED, reason `restart-storm`. */
  maxRestarts: number
  minUptimeSeconds: number
  /** The first wait before a restart; it doubles with each quick restart in a row. */
  restartDelaySeconds: number
  /** Bytes for the command's whole process tree; 0: no cap. Over it the tree is killed (reason `memory-limit`). */
  maxMemoryBytes: number
  /** Start it again when the host boots (an @reboot crontab line). */
  onBoot: boolean
}

export const SERVICE_DEFAULTS = {maxRestarts: 10, minUptimeSeconds: 5, restartDelaySeconds: 2} as const

/** The wrapper's options for a service (KEY=value lines, numbers and words only). */
export function serviceOptions(policy: ServicePolicy): string[] {
  return [
    `restart=${policy.restart}`,
    `max_restarts=${Math.trunc(policy.maxRestarts)}`,
    `min_uptime=${Math.trunc(policy.minUptimeSeconds)}`,
    `restart_delay=${Math.trunc(policy.restartDelaySeconds)}`,
    `max_memory=${Math.trunc(policy.maxMemoryBytes)}`,
  ]
}

/**
 * The @reboot line: the job's own wrapper in mode boot, which starts its session again unless the
 * service was stopped or ended for good since. Both remove the job's file on-boot, which the line
 * tests first, so a line left behind (a crontab that could not be edited then) does nothing.
 */
export function bootLine(jobDir: string, tmuxSocket: string, name: string): string {
  const onBoot = cronWord(`${jobDir}/on-boot`)
  const wrapper = cronWord(`${jobDir}/orch-wrapper.sh`)
  return `@reboot [ -f ${onBoot} ] && /bin/sh ${wrapper} ${cronWord(jobDir)} boot ${cronWord(tmuxSocket)} ${cronWord(name)} >> ${cronWord(`${jobDir}/boot.log`)} 2>&1`
}

/**
 * Install the service's @reboot line (crontab-line.sh from orch's tools on the host: every other
 * crontab line kept byte for byte). orch stop, the service ending for good and prune remove it on
 * the host (job-lib.sh remove_boot_entry).
 */
export async function installBootEntry(site: JobSite, name: string, jobDir: string, options: {hostDir: string; crontabCommand: string}): Promise<string> {
  const binDir = await installTools(site, options.hostDir)
  const line = bootLine(jobDir, site.tmuxSocket, name)
  const result = await site.run(controlScript('boot-entry'), [name, binDir, options.crontabCommand, line])
  if (result.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n').at(-1) || `status ${result.code}`
    throw new OrchError('hostSetup', `cannot install the @reboot line of ${name} on ${site.host.label}: ${why}`, 'check that cron is installed on the host (orch host bootstrap), or run without --on-boot')
  }
  return line
}
