/**
 * Extras for the guardrails and cloud-host integration tests: a fake `crontab` command with its own
 * spool (the machine's crontab is never touched), a recorder of `ps -eo args` snapshots (to prove
 * secrets never reach a command line), an HTTP server that records webhook calls, and ageing of
 * job directories with touch -d.
 */
import {execFile, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

/**
 * A crontab command whose table is `spool` (absolute path baked in: it runs on the host over SSH,
 * where the test's environment does not reach): -l prints (and fails with "no crontab" when there
 * is none), -r removes, FILE or - installs (refusing a file without a final newline, as cron does).
 */
export function writeFakeCrontab(dir: string, spool: string): string {
  const path = join(dir, 'fake-crontab')
  writeFileSync(
    path,
    `#!/bin/sh
f='${spool}'
case \${1:-} in
  -l) [ -e "$f" ] || { echo "no crontab for tester" >&2; exit 1; }; cat "$f" ;;
  -r) rm -f "$f" ;;
  *)
    src=$1
    [ "$src" = - ] && src=/dev/stdin
    cat "$src" > "$f.new" || exit 1
    if [ -s "$f.new" ] && [ "$(tail -c 1 "$f.new" | od -An -c | tr -d ' ')" != '\\n' ]; then
      echo "new crontab file is missing newline before EOF, can't install." >&2
      rm -f "$f.new"
      exit 1
    fi
    mv "$f.new" "$f"
    ;;
esac
`,
  )
  chmodSync(path, 0o755)
  return path
}

/** Samples `ps -eo args` (every process's command line) until stopped. */
export class PsRecorder {
  readonly snapshots: string[] = []
  private running = true
  private readonly loop: Promise<void>

  constructor(intervalMs = 40) {
    this.loop = (async () => {
      while (this.running) {
        this.snapshots.push(psNow())
        await new Promise((resolve) => setTimeout(resolve, intervalMs))
      }
    })()
  }

  async stop(): Promise<string[]> {
    this.running = false
    await this.loop
    return this.snapshots
  }
}

/** `ps -eo args` right now (synchronous, so it can run inside a request handler). */
export function psNow(): string {
  return spawnSync('ps', ['-eo', 'args'], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024}).stdout
}

export function psAsync(): Promise<string> {
  return new Promise((resolve) => execFile('ps', ['-eo', 'args'], {maxBuffer: 64 * 1024 * 1024}, (_error, stdout) => resolve(String(stdout))))
}

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
  /** `ps -eo args` taken while the request was open (the sender is still running then). */
  ps: string
}

/** An HTTP server on 127.0.0.1 that records every request and answers with `status` (after `delayMs`). */
export class WebhookRecorder {
  readonly requests: RecordedRequest[] = []
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(status = 200, delayMs = 0): Promise<WebhookRecorder> {
    let recorder: WebhookRecorder | undefined
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        recorder!.requests.push({method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), ps: psNow()})
        setTimeout(() => {
          response.writeHead(status, {'content-type': 'text/plain'})
          response.end(status < 300 ? 'ok' : 'no')
        }, delayMs)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    recorder = new WebhookRecorder(server, (server.address() as AddressInfo).port)
    return recorder
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

/** touch -h -d WHEN on a directory and everything inside it. */
export function ageTree(dir: string, when = '40 days ago'): void {
  const result = spawnSync('find', [dir, '-exec', 'touch', '-h', '-d', when, '{}', '+'], {encoding: 'utf8'})
  if (result.status !== 0) throw new Error(`ageing ${dir} failed: ${result.stderr}`)
}

/** Every regular file under `dir` (recursively) with its content. */
export function filesUnder(dir: string): Array<{path: string; text: string}> {
  const found: Array<{path: string; text: string}> = []
  if (!existsSync(dir)) return found
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    const stat = statSync(path)
    if (stat.isDirectory()) found.push(...filesUnder(path))
    else if (stat.isFile()) found.push({path, text: readFileSync(path, 'latin1')})
  }
  return found
}
