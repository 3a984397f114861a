import {Args, Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags} from '../cli/host-flags.js'
import {type CronOutcome, RETENTION_MARKER, manageCronLine} from '../jobs/cron-lines.js'
import {siteFor} from '../sites/sites.js'
import {formatCron} from '../output/format-maintenance.js'

export default class Cron extends OrchCommand {
  static override summary = "Install, remove or show the daily log-retention line in the host's crontab"
  static override description =
    'The line runs scripts/cloud/log-retention.sh (copied to ~/.orch/bin on the host) every day at 03:17 with the retention of ORCH_LOG_RETENTION_DAYS. Installing twice never duplicates it, and every other crontab line is kept byte for byte.'
  static override examples = ['<%= config.bin %> cron install', '<%= config.bin %> cron show --json', '<%= config.bin %> cron remove --where local']
  static override args = {action: Args.string({description: 'install, remove or show', options: ['install', 'remove', 'show'], required: true})}
  static override flags = {
    ...hostFlags,
    where: Flags.string({description: 'the crontab of the cloud host, or of this machine', options: ['cloud', 'local'], default: 'cloud'}),
  }

  async run(): Promise<CronOutcome> {
    const {args, flags} = await this.parse(Cron)
    const config = configFromFlags(flags)
    const site = await siteFor(flags.where as 'cloud' | 'local', config)
    try {
      const outcome = await manageCronLine(site, args.action as CronOutcome['action'], {
        marker: RETENTION_MARKER,
        crontabCommand: config.crontab,
        hostDir: config.hostDir,
        env: {ORCH_LOG_ROOT: site.logRoot, ORCH_LOG_RETENTION_DAYS: String(config.logRetentionDays)},
      })
      this.say(() => formatCron(outcome))
      return outcome
    } finally {
      await site.close()
    }
  }
}
