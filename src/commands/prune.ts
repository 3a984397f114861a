import {defineCommand} from '../cli/command.js'
import {flag} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {DURATION_FORMS, parseDuration} from '../config/units.js'
import {pruneJobsAt} from '../sites/job-commands.js'
import {usageError} from '../errors/errors.js'
import {formatPrune} from '../output/format-maintenance.js'

const DAY_MS = 86_400_000

export default defineCommand({
  id: 'prune',
  summary: 'Delete job directories older than the retention (default 30 days); never a running or queued job',
  examples: ['<%= config.bin %> prune --dry-run', '<%= config.bin %> prune --older-than 7d --where cloud'],
  flags: {
    ...hostFlags,
    'older-than': flag.option({
      description: `age limit (${DURATION_FORMS}); whole days, default ORCH_LOG_RETENTION_DAYS`,
      parse: (text, name) => {
        const ms = parseDuration(text)
        if (ms === undefined || ms < DAY_MS) throw usageError(`${name} "${text}" is not an age of at least one day`, 'use e.g. 30d, 7d or 2w')
        return Math.floor(ms / DAY_MS)
      },
    }),
    'dry-run': flag.boolean({description: 'report what would be deleted; delete nothing'}),
    where: whereFlag,
  },
  async run({flags}, io) {
    const outcomes = await pruneJobsAt(configFromFlags(flags), flags.where, {olderThanDays: flags['older-than'], dryRun: flags['dry-run']})
    io.say(() => formatPrune(outcomes))
    return outcomes
  },
})
