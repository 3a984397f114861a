import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {DURATION_FORMS, parseDuration} from '../config/units.js'
import {readLog} from '../jobs/follow-log.js'
import {jobInfo} from '../jobs/job-info.js'
import {shipAfterFollow} from '../jobs/run-job.js'
import {locateJob} from '../jobs/locate-job.js'
import {validateJobName} from '../jobs/names.js'
import type {Where} from '../jobs/sites.js'
import {OrchError, usageError} from '../output/errors.js'
import {writeOut} from '../output/stdout.js'

export default class Logs extends OrchCommand {
  static override summary = "Print a job's log; -f follows it until [EXIT: N] and exits with N"
  static override examples = ['<%= config.bin %> logs lros-backfill-20260216-1430', '<%= config.bin %> logs my-job -f', '<%= config.bin %> logs my-job --tail 50']
  static override enableJsonFlag = false
  static override args = {name: Args.string({description: 'job name', required: true})}
  static override flags = {
    ...hostFlags,
    follow: Flags.boolean({char: 'f', description: 'keep printing new output until the job ends, then exit with its status'}),
    tail: Flags.string({description: 'start with the last N lines'}),
    since: Flags.string({description: `start with output written in the last DURATION (${DURATION_FORMS}); 2-second resolution`}),
    where: whereFlag,
    source: Flags.string({description: 'read from the host (default) or from CloudWatch Logs (works after the host is gone)', options: ['host', 'cloudwatch'], default: 'host'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Logs)
    const name = validateJobName(args.name)
    let tailLines: number | undefined
    if (flags.tail !== undefined) {
      if (!/^\d+$/.test(flags.tail)) throw usageError(`--tail "${flags.tail}" is not a line count`, 'use a whole number, e.g. --tail 100')
      tailLines = Number(flags.tail)
    }
    let sinceSeconds: number | undefined
    if (flags.since !== undefined) {
      const ms = parseDuration(flags.since)
      if (ms === undefined) throw usageError(`--since "${flags.since}" is not a duration`, `use ${DURATION_FORMS}`)
      sinceSeconds = Math.ceil(ms / 1000)
    }
    const config = configFromFlags(flags)
    if (flags.source === 'cloudwatch') {
      const {printCloudWatchLog} = await import('../cloud/ship-job.js')
      const lines = await printCloudWatchLog(config, name, writeOut)
      if (lines === 0) this.note(`no events for ${name} in CloudWatch ${config.cloudwatchGroup}`)
      return
    }
    const {site} = await locateJob(config, name, flags.where as Where | undefined)
    // Ctrl-C stops reading only; the job is untouched.
    const stop = new AbortController()
    const onInterrupt = () => stop.abort()
    process.once('SIGINT', onInterrupt)
    try {
      const result = await readLog(site, name, {
        follow: flags.follow,
        tailLines,
        sinceSeconds,
        write: writeOut,
        signal: stop.signal,
        onReconnect: (attempt, delay) => this.note(`connection lost; reconnecting in ${Math.round(delay / 100) / 10}s (attempt ${attempt})`),
      })
      if (stop.signal.aborted) return this.setExitCode(130)
      if (flags.follow) {
        const info = await jobInfo(site, name)
        if (info.meta.cloudwatch) await shipAfterFollow(config, site, name, (message) => this.note(message))
        if (result.vanished) throw new OrchError('failure', `job ${name} ended without an exit status (its session vanished: host reboot or tmux killed)`, `its state is FAILED; see orch list`)
        if (result.exitCode !== null) this.setExitCode(result.exitCode)
      }
    } finally {
      process.removeListener('SIGINT', onInterrupt)
      await site.close()
    }
  }
}
