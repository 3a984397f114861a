import {Args, Flags} from '@oclif/core'

import {OrchCommand, argWords} from '../cli/base-command.js'
import {configFromFlags, hostFlags, whereFlag} from '../cli/host-flags.js'
import {locateJob} from '../sites/locate-job.js'
import {validateJobName} from '../jobs/names.js'
import {type DiffReport, localWorkTree, pullDiff} from '../jobs/pull-diff.js'
import {type PullReport, pullResults, validatePullPatterns} from '../jobs/pull-results.js'
import type {Where} from '../sites/sites.js'
import {usageError} from '../errors/errors.js'
import {formatDiffPulled, formatPulled} from '../output/format-pull.js'

export default class Pull extends OrchCommand {
  static override summary = "Download a job's log directory and results, or apply its uncommitted changes here (--diff)"
  static override description = `PATHs (globs allowed) are relative to the job's working directory on the host; without any, the job's --artifacts are pulled. The log directory lands in DIR/log/, the paths in DIR/files/. Nothing is ever written outside DIR: absolute paths, .. and symlinks pointing outside are refused.

--diff brings the uncommitted changes of the job's git work tree (untracked files included) as a patch and applies it to the git work tree you are in with git apply --3way; on a conflict nothing is changed.`
  static override examples = [
    '<%= config.bin %> pull train-20260216-1430',
    `<%= config.bin %> pull train-20260216-1430 'checkpoints/*.pt' metrics.json --to ./results`,
    '<%= config.bin %> pull agent-fix-123 --diff',
  ]
  static override strict = false
  static override args = {
    name: Args.string({description: 'job name', required: true}),
    path: Args.string({description: "paths or globs relative to the job's working directory on the host (default: its --artifacts)"}),
  }
  static override flags = {
    ...hostFlags,
    to: Flags.string({description: 'where to write (default ./orch-results/NAME/)', helpValue: 'DIR'}),
    diff: Flags.boolean({description: "apply the job's uncommitted git changes to the local work tree (git apply --3way); refuse on conflict"}),
    where: whereFlag,
  }

  async run(): Promise<PullReport | DiffReport> {
    const parsed = await this.parse(Pull)
    const {args, flags} = parsed
    const name = validateJobName(args.name)
    const paths = argWords(parsed).slice(1)
    if (flags.diff && (paths.length > 0 || flags.to !== undefined)) throw usageError('--diff takes no PATH or --to', 'pull files and the patch with two commands')
    validatePullPatterns(paths)
    const workTree = flags.diff ? await localWorkTree() : undefined
    const config = configFromFlags(flags)
    const {site} = await locateJob(config, name, flags.where as Where | undefined)
    const warn = (message: string) => this.note(message)
    try {
      if (workTree) {
        const report = await pullDiff(site, name, workTree, warn)
        this.note(formatDiffPulled(report))
        return report
      }
      const report = await pullResults(site, name, paths, flags.to ?? `orch-results/${name}`, warn)
      for (const pattern of report.missing) this.note(`no match on the host for ${pattern}`)
      for (const entry of report.skipped) this.note(`skipped ${entry}`)
      this.say(() => formatPulled(report))
      // An explicit path that matched nothing is an error (declared artifacts may legitimately be absent).
      if (paths.length > 0 && report.missing.length > 0) this.setExitCode(1)
      return report
    } finally {
      await site.close()
    }
  }
}
