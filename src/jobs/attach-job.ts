import {OrchError} from '../errors/errors.js'
import {SCRIPT_STATUS, controlScript} from './host-scripts.js'
import {type JobSite, unknownJob} from './site.js'

/** Attach this terminal to the job's tmux session; detaching (C-b d) leaves the job running. */
export async function attachJob(site: JobSite, name: string): Promise<number> {
  if (site.target === 'local') {
    throw new OrchError('failure', `${name} is a local job: it runs in the foreground of the terminal that started it`, `see its output with orch logs -f ${name}`)
  }
  const check = await site.run(controlScript('has-session'), [name])
  if (check.code === SCRIPT_STATUS.unknownJob) throw unknownJob(name)
  if (check.code !== 0) {
    throw new OrchError('failure', `job ${name} has finished; there is no session to attach to`, `read its log with orch logs ${name}`)
  }
  if (!process.stdin.isTTY) {
    throw new OrchError('usage', 'orch attach needs an interactive terminal', `run it from a terminal, or follow the output with orch logs -f ${name}`)
  }
  return site.host.interactive(site.tmuxArgv('attach-session', '-t', `=${name}`))
}
