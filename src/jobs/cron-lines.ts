import {posix} from 'node:path'

import {shellWord} from '../hosts/shell-words.js'
import {OrchError} from '../output/errors.js'
import {installTools, runTool} from './host-tools.js'
import type {JobSite} from './site.js'

export const RETENTION_MARKER = 'orch:log-retention'
export const AUTOSTOP_MARKER = 'orch:autostop'

export interface CronOutcome {
  host: string
  marker: string
  action: 'install' | 'remove' | 'show'
  /** The tagged line now in the crontab, or null when there is none. */
  line: string | null
  message: string
}

/** The crontab command on the host (ORCH_CRONTAB lets tests use a crontab of their own). */
export interface CronContext {
  crontabCommand?: string
}

/** A root as cron's sh should see it: `~/x` becomes "$HOME/x" (cron does not expand ~ inside quotes). */
export function cronPath(path: string): string {
  if (path === '~') return '"$HOME"'
  if (path.startsWith('~/')) return `"$HOME"/${shellWord(path.slice(2))}`
  return shellWord(path)
}

/** The daily retention line: runs the installed log-retention.sh at 03:17. */
export function retentionCronLine(binDir: string, logRoot: string, days: number): string {
  return `17 3 * * * /bin/sh ${shellWord(`${binDir}/log-retention.sh`)} --older-than-days ${days} --root ${cronPath(logRoot)} >> ${shellWord(`${posix.dirname(binDir)}/log-retention.log`)} 2>&1`
}

/**
 * Install, remove or show one tagged crontab line on the site, keeping every other line byte for
 * byte (scripts/cloud/crontab-line.sh does the editing). Installing first copies the tools to
 * <hostDir>/bin so the line has something to run.
 */
export async function manageCronLine(
  site: JobSite,
  action: CronOutcome['action'],
  options: {marker: string; hostDir: string; line?: (binDir: string) => string} & CronContext,
): Promise<CronOutcome> {
  const env: Record<string, string> = options.crontabCommand ? {CRONTAB: options.crontabCommand} : {}
  const args: string[] = [action, '--marker', options.marker]
  if (action === 'install') {
    if (!options.line) throw new Error('manageCronLine: install needs a line')
    args.push('--line', options.line(await installTools(site, options.hostDir)))
  }
  const result = await runTool(site, 'crontab-line', args, env)
  if (result.code !== 0 && !(action === 'show' && result.code === 3)) {
    throw new OrchError('hostSetup', `crontab ${action} on ${site.host.label} failed: ${result.stderr.trim().split('\n').at(-1) || `status ${result.code}`}`, 'check that cron is installed on the host (orch host bootstrap)')
  }
  const shown = action === 'show' ? result : await runTool(site, 'crontab-line', ['show', '--marker', options.marker], env)
  const line = shown.code === 0 ? shown.stdout.toString().trim() || null : null
  return {host: site.host.label, marker: options.marker, action, line, message: action === 'show' ? '' : result.stdout.toString().trim()}
}
