import {defineCommand} from '../cli/command.js'
import {arg, flag} from '../cli/flags.js'
import {configFromFlags, hostFlags} from '../cli/host-flags.js'
import type {CronOutcome} from '../jobs/cron-lines.js'
import {manageRetentionCron} from '../sites/job-commands.js'
import {formatCron} from '../output/format-maintenance.js'

export default defineCommand({
  id: 'cron',
  summary: "Install, remove or show the daily log-retention line in the host's crontab",
  description:
    'The line runs scripts/cloud/log-retention.sh (copied to ~/.orch/bin on the host) every day at 03:17 with the retention of ORCH_LOG_RETENTION_DAYS. Installing twice never duplicates it, and every other crontab line is kept byte for byte.',
  examples: ['<%= config.bin %> cron install', '<%= config.bin %> cron show --json', '<%= config.bin %> cron remove --where local'],
  args: {action: arg.required('install, remove or show', ['install', 'remove', 'show'])},
  flags: {
    ...hostFlags,
    where: flag.option({
      description: 'the crontab of the cloud host, or of this machine',
      options: ['cloud', 'local'],
      default: 'cloud',
      parse: (text) => text as 'cloud' | 'local',
    }),
  },
  async run({flags, args}, io) {
    const outcome = await manageRetentionCron(configFromFlags(flags), flags.where, args.action as CronOutcome['action'])
    io.say(() => formatCron(outcome))
    return outcome
  },
})
