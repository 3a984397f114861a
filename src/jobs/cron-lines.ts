import {shellWord} from '../hosts/shell-words.js'
import {OrchError} from '../errors/errors.js'
import {installTools, runInstalledTool, runTool} from './host-tools.js'
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

/** A word for a crontab command: quoted for sh, and `%` escaped, which cron would turn into a newline. */
export function cronWord(word: string): string {
  return shellWord(word).replaceAll('%', String.raw`\%`)
}

/** A root as cron's sh should see it: `~/x` becomes "$HOME/x" (cron does not expand ~ inside quotes). */
export function cronPath(path: string): string {
  if (path === '~') return '"$HOME"'
  if (path.startsWith('~/')) return `"$HOME"/${cronWord(path.slice(2))}`
  return cronWord(path)
}

/**
 * Install, remove or show one tagged crontab line on the site, keeping every other line byte for
 * byte (scripts/cloud/crontab-line.sh does the editing). Installing first copies the tools to
 * <hostDir>/bin so the line has something to run; without `line`, crontab-line.sh writes its default
 * (the retention line, from ORCH_LOG_ROOT and ORCH_LOG_RETENTION_DAYS in `env`).
 */
export async function manageCronLine(
  site: JobSite,
  action: CronOutcome['action'],
  options: {marker: string; hostDir: string; line?: (binDir: string) => string; env?: Record<string, string>} & CronContext,
): Promise<CronOutcome> {
  const env: Record<string, string> = {...options.env, ...(options.crontabCommand ? {CRONTAB: options.crontabCommand} : {})}
  const args: string[] = [action, '--marker', options.marker]
  let result
  if (action === 'install') {
    const binDir = await installTools(site, options.hostDir)
    // The retention line's text has one author, crontab-line.sh, so that bootstrap and
    // `orch cron install` write the same line and never replace each other's.
    if (options.line) args.push('--line', options.line(binDir))
    result = await runInstalledTool(site, binDir, 'crontab-line', args, env)
  } else {
    result = await runTool(site, 'crontab-line', args, env)
  }
  if (result.code !== 0 && !(action === 'show' && result.code === 3)) {
    throw new OrchError('hostSetup', `crontab ${action} on ${site.host.label} failed: ${result.stderr.trim().split('\n').at(-1) || `status ${result.code}`}`, 'check that cron is installed on the host (orch host bootstrap)')
  }
  const shown = action === 'show' ? result : await runTool(site, 'crontab-line', ['show', '--marker', options.marker], env)
  const line = shown.code === 0 ? shown.stdout.toString().trim() || null : null
  return {host: site.host.label, marker: options.marker, action, line, message: action === 'show' ? '' : result.stdout.toString().trim()}
}

