import {execFile} from 'node:child_process'

export interface GitResult {
  /** git's exit status; 127 when git could not be started at all (not installed). */
  code: number
  stdout: Buffer
  stderr: string
}

/**
 * Run git on this machine in `cwd`. Never rejects for git's own failure: the caller reads `code`
 * (and `stderr`) and says what it means. `env` is added to this process's environment.
 */
export function git(cwd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<GitResult> {
  return new Promise((done) => {
    execFile('git', args as string[], {cwd, env: env ? {...process.env, ...env} : process.env, encoding: 'buffer', maxBuffer: 1 << 30}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      done({code: error ? (typeof raw === 'number' ? raw : 127) : 0, stdout, stderr: stderr.toString()})
    })
  })
}
