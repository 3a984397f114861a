import type {OrchConfig} from '../config/config.js'
import {OrchError} from '../errors/errors.js'
import {stdoutClosed, writeOut} from '../terminal/stdout.js'
import {readLog} from '../jobs/follow-log.js'
import {type LogPage, type LogPageRequest, readLogPage} from '../jobs/log-page.js'
import {withJobSite} from './locate-job.js'
import type {Where} from './sites.js'

export interface ShowLogOptions {
  where?: Where
  follow: boolean
  tailLines?: number
  sinceSeconds?: number
  /** Told about each reconnection attempt while following. */
  onReconnect: (attempt: number, delayMs: number) => void
  warn: (message: string) => void
}

/**
 * orch logs: the job's log on stdout; following, until its `[EXIT: N]`, whose N is returned (the
 * command's exit status), then shipped to CloudWatch when the job asked for it. Ctrl-C, or the
 * reader of stdout leaving, stops the reading only (130); the job is untouched. A job that vanished
 * is an error: it is FAILED, never a success.
 */
export async function showJobLog(config: OrchConfig, name: string, options: ShowLogOptions): Promise<number | undefined> {
  return withJobSite(config, name, options.where, async (site) => {
    const stop = new AbortController()
    const onInterrupt = () => stop.abort()
    process.once('SIGINT', onInterrupt)
    stdoutClosed.addEventListener('abort', onInterrupt, {once: true})
    try {
      const result = await readLog(site, name, {
        follow: options.follow,
        tailLines: options.tailLines,
        sinceSeconds: options.sinceSeconds,
        write: writeOut,
        signal: stop.signal,
        onReconnect: (attempt, delay) => options.onReconnect(attempt, delay),
      })
      if (stop.signal.aborted) return 130
      if (!options.follow) return undefined
      if (result.shipToCloudWatch) await (await import('./ship-job.js')).shipAfterFollow(config, site, name, options.warn)
      if (result.vanished) throw new OrchError('failure', `job ${name} ended without an exit status (its session vanished: host reboot or tmux killed)`, 'its state is FAILED; see orch list')
      return result.exitCode ?? undefined
    } finally {
      process.removeListener('SIGINT', onInterrupt)
      stdoutClosed.removeEventListener('abort', onInterrupt)
    }
  })
}

/** One page of the job's log, found here or on the cloud host (the MCP server's logs tool). */
export function readJobLogPage(config: OrchConfig, name: string, where: Where | undefined, request: LogPageRequest): Promise<LogPage> {
  return withJobSite(config, name, where, (site) => readLogPage(site, name, request))
}
