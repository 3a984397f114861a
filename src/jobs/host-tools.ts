import {readFileSync} from 'node:fs'

import {shellWord} from '../hosts/shell-words.js'
import {OrchError} from '../errors/errors.js'
import {controlScript} from './host-scripts.js'
import type {JobSite} from './site.js'

/** The POSIX sh tools in scripts/cloud/: they run on a host without Node (cron, bootstrap). */
export type HostTool = 'log-retention' | 'autostop-check' | 'bootstrap' | 'crontab-line'
const TOOLS: readonly HostTool[] = ['log-retention', 'autostop-check', 'bootstrap', 'crontab-line']

export function toolText(tool: HostTool): string {
  return readFileSync(new URL(`../../scripts/cloud/${tool}.sh`, import.meta.url), 'utf8')
}

/** Run a tool on the site with its log root and tmux socket; `env` adds variables (e.g. CRONTAB). */
export function runTool(site: JobSite, tool: HostTool, args: readonly string[], env: Record<string, string> = {}) {
  const extra = Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
  return site.run(controlScript('tool'), [toolText(tool), extra, ...args])
}

/** Run the copy of a tool installed in `binDir` (tools that find their siblings through $0). */
export function runInstalledTool(site: JobSite, binDir: string, tool: HostTool, args: readonly string[], env: Record<string, string> = {}) {
  const extra = Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
  return site.run(controlScript('tool'), [`exec sh ${shellWord(`${binDir}/${tool}.sh`)} "$@"`, extra, ...args])
}

/** Copy every tool to <hostDir>/bin on the site (one round trip); returns that directory. */
export async function installTools(site: JobSite, hostDir: string): Promise<string> {
  const files = TOOLS.map((tool) => ({name: `${tool}.sh`, bytes: Buffer.from(toolText(tool))}))
  const result = await site.run(
    controlScript('install-tools'),
    [hostDir, ...files.flatMap((file) => [file.name, String(file.bytes.length)])],
    Buffer.concat(files.map((file) => file.bytes)),
  )
  if (result.code !== 0) {
    throw new OrchError('hostSetup', `cannot install orch's tools in ${hostDir}/bin on ${site.host.label}`, 'check ORCH_HOST_DIR is writable')
  }
  return result.stdout.toString().trim()
}
