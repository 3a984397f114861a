import {defineCommand} from '../cli/command.js'
import {arg, flag} from '../cli/flags.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {validateJobName} from '../jobs/names.js'
import {pullJob} from '../sites/pull-job.js'
import {formatDiffPulled, formatPulled} from '../output/format-pull.js'

export default defineCommand({
  id: 'pull',
  summary: "Download a job's log directory and results, or apply its uncommitted changes here (--diff)",
  description: `PATHs (globs allowed) are relative to the job's working directory on the host; without any, the job's --artifacts are pulled. The log directory lands in DIR/log/, the paths in DIR/files/. Nothing is ever written outside DIR: absolute paths, .. and symlinks pointing outside are refused.

--diff brings the uncommitted changes of the job's git work tree (untracked files included) as a patch and applies it to the git work tree you are in with git apply --3way; on a conflict nothing is changed.`,
  examples: [
    '<%= config.bin %> pull train-20260216-1430',
    `<%= config.bin %> pull train-20260216-1430 'checkpoints/*.pt' metrics.json --to ./results`,
    '<%= config.bin %> pull agent-fix-123 --diff',
  ],
  strict: false,
  args: {
    name: arg.required('job name'),
    path: arg.optional("paths or globs relative to the job's working directory on the host (default: its --artifacts)"),
  },
  flags: {
    ...hostFlags,
    to: flag.option({description: 'where to write (default ./orch-results/NAME/)', helpValue: 'DIR'}),
    diff: flag.boolean({description: "apply the job's uncommitted git changes to the local work tree (git apply --3way); refuse on conflict"}),
    where: whereFlag,
  },
  async run({flags, args, words}, io) {
    const paths = args.path === undefined ? [] : [args.path, ...words]
    const report = await pullJob(configFromFlags(flags), validateJobName(args.name), {where: flags.where, paths, to: flags.to, diff: flags.diff, warn: io.note})
    if (!('missing' in report)) {
      io.note(formatDiffPulled(report))
      return report
    }
    for (const pattern of report.missing) io.note(`no match on the host for ${pattern}`)
    for (const entry of report.skipped) io.note(`skipped ${entry}`)
    io.say(() => formatPulled(report))
    // An explicit path that matched nothing is an error (declared artifacts may legitimately be absent).
    if (paths.length > 0 && report.missing.length > 0) process.exitCode = 1
    return report
  },
})
