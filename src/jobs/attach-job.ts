import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

/**
 * A shell on the node of a running Slurm job, inside its allocation (`srun --overlap`: it shares
 * the job's CPUs, GPUs and memory instead of waiting for more), in the job's directory. A batch
 * job has no terminal of its own to join; leaving the shell leaves the job running.
 */
const SLURM_SHELL = 'dir=$2; case $dir in "~/"*) dir=$HOME/${dir#"~/"} ;; esac; srun=$(command -v srun || echo /opt/slurm/bin/srun); exec "$srun" --jobid="$1" --overlap --pty --chdir="$dir" "${SHELL:-/bin/sh}" -l'

/**
 * Attach this terminal to the job: its tmux session (detaching with C-b d leaves the job running),
 * or for a Slurm job a shell inside its allocation on its node (exit leaves the job running).
 */
export async function attachJob(site: JobSite, name: string): Promise<number> {
  if (site.target === 'local') {
    throw new OrchError('failure', `${name} is a local job: it runs in the foreground of the terminal that started it`, `see its output with orch logs -f ${name}`)
  }
  const check = await site.run(controlScript('has-session'), [name])
  if (check.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  const said = check.stdout.toString().trim()
  if (check.code !== 0 && /^(QUEUED|STARTING)$/.test(said)) {
    throw new OrchError('failure', `job ${name} is waiting for Slurm to start it (${said}); there is nothing to attach to yet`, `see why with orch status; follow it with orch logs -f ${name}`)
  }
  if (check.code !== 0) {
    throw new OrchError('failure', `job ${name} has finished; there is no session to attach to`, `read its log with orch logs ${name}`)
  }
  if (!process.stdin.isTTY) {
    throw new OrchError('usage', 'orch attach needs an interactive terminal', `run it from a terminal, or follow the output with orch logs -f ${name}`)
  }
  const slurm = /^slurm (\d+)$/.exec(said)
  if (slurm) return site.host.interactive(['sh', '-c', SLURM_SHELL, 'sh', slurm[1]!, site.logPath(name).replace(/\/run\.log$/, '')])
  return site.host.interactive(site.tmuxArgv('attach-session', '-t', `=${name}`))
}
