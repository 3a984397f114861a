import {Flags} from '@oclif/core'

import {OrchCommand} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {DURATION_FORMS, parseDuration} from '../config/units.js'
import {closeAll, sitesToList} from '../sites/job-sites.js'
import {type PruneOutcome, pruneJobs} from '../jobs/prune-jobs.js'
import type {Where} from '../sites/sites.js'
import {usageError} from '../errors/errors.js'
import {formatPrune} from '../output/format-maintenance.js'

const DAY_MS = 86_400_000

export default class Prune extends OrchCommand {
  static override summary = 'Delete job directories older than the retention (default 30 days); never a running or queued job'
  static override examples = ['<%= config.bin %> prune --dry-run', '<%= config.bin %> prune --older-than 7d --where cloud']
  static override flags = {
    ...hostFlags,
    'older-than': Flags.string({description: `age limit (${DURATION_FORMS}); whole days, default ORCH_LOG_RETENTION_DAYS`}),
    'dry-run': Flags.boolean({description: 'report what would be deleted; delete nothing'}),
    where: whereFlag,
  }

  async run(): Promise<PruneOutcome[]> {
    const {flags} = await this.parse(Prune)
    const config = configFromFlags(flags)
    let days = config.logRetentionDays
    if (flags['older-than'] !== undefined) {
      const ms = parseDuration(flags['older-than'])
      if (ms === undefined || ms < DAY_MS) throw usageError(`--older-than "${flags['older-than']}" is not an age of at least one day`, 'use e.g. 30d, 7d or 2w')
      days = Math.floor(ms / DAY_MS)
    }
    const sites = await sitesToList(config, flags.where as Where | undefined)
    try {
      const outcomes: PruneOutcome[] = []
      for (const site of sites) outcomes.push(await pruneJobs(site, {olderThanDays: days, dryRun: flags['dry-run']}))
      this.say(() => formatPrune(outcomes))
      return outcomes
    } finally {
      await closeAll(sites)
    }
  }
}
