import {OrchError} from '../errors/errors.js'
import type {Host, ScriptResult, ScriptRun, StreamHandlers} from '../hosts/host.js'

/**
 * A host plus where jobs live on it: the log root and the tmux server. Every job script receives
 * these two as $1 and $2 (see host-scripts.ts PRELUDE).
 */
export class JobSite {
  constructor(
    readonly host: Host,
    readonly logRoot: string,
    readonly tmuxSocket: string = '',
  ) {}

  get target(): 'cloud' | 'local' {
    return this.host.kind === 'ssh' ? 'cloud' : 'local'
  }

  logPath(name: string): string {
    return `${this.logRoot.replace(/\/+$/, '')}/${name}/run.log`
  }

  run(script: string, args: readonly string[] = [], input?: string | Buffer): Promise<ScriptResult> {
    return this.host.run(script, {args: [this.logRoot, this.tmuxSocket, ...args], input})
  }

  stream(script: string, args: readonly string[], handlers: StreamHandlers & Pick<ScriptRun, 'input'>): Promise<number> {
    return this.host.stream(script, {args: [this.logRoot, this.tmuxSocket, ...args], ...handlers})
  }

  /** The tmux command line for this site's server. */
  tmuxArgv(...args: string[]): string[] {
    return this.tmuxSocket ? ['tmux', '-L', this.tmuxSocket, ...args] : ['tmux', ...args]
  }

  close(): Promise<void> {
    return this.host.close()
  }
}

/** A site has no job of this name (every job script exits SCRIPT_STATUS.unknownJob for it). */
export function unknownJob(name: string): OrchError {
  return new OrchError('notFound', `no job named ${name}`, 'see orch list for the jobs there are')
}
