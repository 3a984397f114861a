import {usageError} from '../errors/errors.js'
import {SERVICE_DEFAULTS, type ServicePolicy} from '../jobs/service.js'
import {flag, values} from './flags.js'

/** The service flags of `orch run` (PM2's job, done by the wrapper on the host; README "Services"). */
export const serviceFlags = {
  restart: flag.option({
    description: 'run it as a service: start the command again when it ends (always) or only when it fails (on-failure)',
    helpGroup: 'SERVICE',
    options: ['always', 'on-failure'],
    parse: (text) => text as 'always' | 'on-failure',
  }),
  'max-restarts': flag.option({
    description: `quick restarts in a row (each within --min-uptime) before the job ends FAILED, reason restart-storm (default ${SERVICE_DEFAULTS.maxRestarts})`,
    helpGroup: 'SERVICE',
    parse: values.wholeNumber(0),
  }),
  'min-uptime': flag.option({description: `a run shorter than this counts toward --max-restarts (default ${SERVICE_DEFAULTS.minUptimeSeconds}s)`, helpGroup: 'SERVICE', parse: values.duration}),
  'restart-delay': flag.option({description: `wait before a restart; doubles with each quick restart in a row (default ${SERVICE_DEFAULTS.restartDelaySeconds}s)`, helpGroup: 'SERVICE', parse: values.duration}),
  'max-memory': flag.option({
    description: "hold the command's whole process tree to this much memory (e.g. 500M): over it, it is killed and restarted (reason memory-limit)",
    helpGroup: 'SERVICE',
    parse: values.size(1),
  }),
  'on-boot': flag.boolean({description: 'start the service again when the host boots (an @reboot crontab line; removed by orch stop)', helpGroup: 'SERVICE'}),
}

export interface ServiceFlagValues {
  restart?: 'always' | 'on-failure'
  'max-restarts'?: number
  'min-uptime'?: number
  'restart-delay'?: number
  'max-memory'?: number
  'on-boot'?: boolean
  retries?: number
}

/** Whole seconds on the host, a part of a second counting as one. */
const seconds = (ms: number) => Math.ceil(ms / 1000)

/** The service policy the flags ask for, or undefined for a plain job; flags that need --restart are refused without it. */
export function servicePolicyFrom(flags: ServiceFlagValues): ServicePolicy | undefined {
  const restart = flags.restart
  if (restart === undefined) {
    const needsRestart = (['max-restarts', 'min-uptime', 'restart-delay', 'on-boot'] as const).find((name) => flags[name] !== undefined && flags[name] !== false)
    if (needsRestart) throw usageError(`--${needsRestart} is for services`, `add --restart always or --restart on-failure`)
    if (flags['max-memory'] === undefined) return undefined
  } else if (flags.retries !== undefined) {
    throw usageError('--retries is for batch jobs; a service is restarted by its --restart policy', 'drop --retries (use --max-restarts to bound a crash loop)')
  }
  return {
    restart: restart ?? 'no',
    maxRestarts: flags['max-restarts'] ?? SERVICE_DEFAULTS.maxRestarts,
    minUptimeSeconds: flags['min-uptime'] === undefined ? SERVICE_DEFAULTS.minUptimeSeconds : seconds(flags['min-uptime']),
    restartDelaySeconds: flags['restart-delay'] === undefined ? SERVICE_DEFAULTS.restartDelaySeconds : seconds(flags['restart-delay']),
    maxMemoryBytes: flags['max-memory'] ?? 0,
    onBoot: flags['on-boot'] === true,
  }
}
