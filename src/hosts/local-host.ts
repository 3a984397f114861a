import {spawn} from 'node:child_process'

import {type ForegroundOptions, type Host, type ScriptResult, type ScriptRun, type StreamHandlers, collectStream, isStreamInput} from './host.js'

/**
 * This machine. Scripts run under /bin/sh with the same arguments the SSH host would pass.
 * node:child_process, not execa: execa loads ~260 modules, a third of `orch status`'s start-up.
 */
export class LocalHost implements Host {
  readonly kind = 'local' as const
  readonly label = 'local'

  run(script: string, options: ScriptRun = {}): Promise<ScriptResult> {
    return collectStream((text, opts) => this.stream(text, opts), script, options)
  }

  async stream(script: string, options: ScriptRun & StreamHandlers): Promise<number> {
    const child = spawn('/bin/sh', ['-c', script, 'orch', ...(options.args ?? [])], {stdio: ['pipe', 'pipe', 'pipe']})
    // A script may exit without reading its stdin; that is not an error.
    child.stdin.on('error', () => {})
    const input = options.input
    if (isStreamInput(input)) {
      input.on('error', () => child.stdin.destroy())
      input.pipe(child.stdin)
      child.once('close', () => {
        input.unpipe(child.stdin)
        if (!input.readableEnded) input.destroy()
      })
    } else child.stdin.end(input ?? '')
    const onAbort = () => child.kill('SIGTERM')
    options.signal?.addEventListener('abort', onAbort, {once: true})
    child.stderr.on('data', (chunk: Buffer) => options.onStderr?.(chunk))
    try {
      for await (const chunk of child.stdout) await options.onStdout(chunk as Buffer)
      return await new Promise<number>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode)
        else child.once('close', (code) => resolve(code ?? 1))
      })
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  async interactive(argv: readonly string[]): Promise<number> {
    const child = spawn(argv[0]!, argv.slice(1), {stdio: 'inherit'})
    return new Promise((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code) => resolve(code ?? 1))
    })
  }

  async foreground(argv: readonly string[], options: ForegroundOptions = {}): Promise<number> {
    const child = spawn(argv[0]!, argv.slice(1), {detached: true, stdio: ['inherit', options.stdoutToStderr ? process.stderr : 'inherit', 'inherit']})
    const forward = (signal: NodeJS.Signals) => () => {
      try {
        process.kill(-child.pid!, signal)
      } catch {}
    }
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)] as const)
    for (const [signal, handler] of handlers) process.on(signal, handler)
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', reject)
        child.once('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)))
      })
    } finally {
      for (const [signal, handler] of handlers) process.removeListener(signal, handler)
    }
  }

  async reconnect(): Promise<void> {}

  async close(): Promise<void> {}
}
