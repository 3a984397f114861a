/**
 * `orch mcp` driven by the MCP SDK's own client (Client + StdioClientTransport spawning the built
 * CLI) against the real sandbox sshd and tmux: the tools and their schemas, route, run and logs
 * paged to [EXIT: N], stop, refused names, concurrent calls over one kept connection (the sshd
 * allows only 4 channels per connection, so 20 calls must queue), a stdout that holds nothing but
 * protocol messages, and a clean end on stdin's EOF.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {BIN, OrchWorld, descendants, exec, isAlive, logRootEntries, sleep, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the orch mcp integration tests', SANDBOX_TOOLS)

vi.setConfig({testTimeout: 120_000, hookTimeout: 120_000})

interface ToolResult {
  isError?: boolean
  content: Array<{type: string; text?: string}>
  structuredContent?: Record<string, unknown>
}

interface Page {
  text: string
  fromOffset: number
  nextOffset: number
  size: number
  state: string
  finished: boolean
  exitCode: number | null
}

let world: OrchWorld
let client: Client
let transport: StdioClientTransport
const clientErrors: Error[] = []

/** The server's environment: the sandbox host, and a tmux server of its own for local jobs. */
const serverEnv = () => world.env({TMUX_TMPDIR: world.tmp}) as Record<string, string>

beforeAll(async () => {
  if (NO_SANDBOX) return
  world = await OrchWorld.start({maxSessions: 4})
  transport = new StdioClientTransport({command: process.execPath, args: [BIN, 'mcp'], env: serverEnv(), cwd: world.work, stderr: 'pipe'})
  client = new Client({name: 'orch-test', version: '1.0.0'})
  client.onerror = (error) => void clientErrors.push(error)
  await client.connect(transport)
})

afterAll(async () => {
  await client?.close()
  await exec('tmux', ['-S', join(world?.tmp ?? '/nonexistent', `tmux-${process.getuid?.() ?? 0}`, 'default'), 'kill-server'])
  await world?.cleanup()
})

async function call(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({name, arguments: args})) as ToolResult
}

async function ok<T>(name: string, args: Record<string, unknown>): Promise<T> {
  const result = await call(name, args)
  if (result.isError) throw new Error(`${name} failed: ${result.content[0]?.text}`)
  return result.structuredContent as T
}

/** The error document of a failed call. */
async function refused(name: string, args: Record<string, unknown>): Promise<{code: string; message: string; hint: string | null; exitCode: number}> {
  const result = await call(name, args)
  expect(result.isError).toBe(true)
  return (JSON.parse(result.content[0]!.text!) as {error: {code: string; message: string; hint: string | null; exitCode: number}}).error
}

/** Page through a job's log until `finished`, as an agent would. */
async function pageToEnd(name: string, maxBytes: number): Promise<{text: string; pages: Page[]}> {
  const pages: Page[] = []
  let offset = 0
  for (;;) {
    const page = await ok<Page>('logs', {name, fromOffset: offset, maxBytes, waitSeconds: 5})
    pages.push(page)
    expect(page.fromOffset).toBe(offset)
    expect(Buffer.byteLength(page.text)).toBeLessThanOrEqual(maxBytes)
    offset = page.nextOffset
    if (page.finished) return {text: pages.map((p) => p.text).join(''), pages}
    if (pages.length > 500) throw new Error(`${name}: no end after 500 pages`)
  }
}

/** TCP connections `pid` holds to the sandbox sshd's port (from /proc: its socket inodes in /proc/net/tcp). */
function sshConnections(pid: number): number {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match) inodes.add(match[1]!)
    } catch {}
  }
  const port = world.sandbox.port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[2]?.endsWith(`:${port}`) && f[3] === '01' && inodes.has(f[9] ?? ''))
    .length
}

describe.skipIf(NO_SANDBOX)('orch mcp over the SDK client', () => {
  it('lists the six tools, each with input and output JSON schemas that compile', async () => {
    const {tools} = await client.listTools()
    expect(tools.map((tool) => tool.name)).toEqual(['route', 'run', 'status', 'list', 'logs', 'stop'])
    const ajv = new Ajv({strict: false})
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object')
      expect(tool.outputSchema?.type).toBe('object')
      expect(() => ajv.compile(tool.inputSchema)).not.toThrow()
      expect(() => ajv.compile(tool.outputSchema!)).not.toThrow()
      expect(tool.description?.length).toBeGreaterThan(40)
    }
    const run = tools.find((tool) => tool.name === 'run')!
    expect(run.inputSchema.required).toEqual(expect.arrayContaining(['name', 'command']))
    expect(run.inputSchema.additionalProperties).toBe(false)
    const validRun = ajv.compile(run.inputSchema)
    expect(validRun({name: 'x', command: ['make', '-j8'], runtime: '2h', retries: 2, where: 'cloud'})).toBe(true)
    expect(validRun({name: 'x', command: 'make', where: 'moon'})).toBe(false)
    expect(tools.find((tool) => tool.name === 'stop')!.annotations).toMatchObject({destructiveHint: true})
    expect(tools.find((tool) => tool.name === 'status')!.annotations).toMatchObject({readOnlyHint: true})
  })

  it('route answers what orch route --json prints, reasons and codes included', async () => {
    const result = await call('route', {runtime: '15m', command: ['make', '-j8']})
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({target: 'cloud', reasons: expect.arrayContaining([expect.objectContaining({code: 'runtime-long'})])})
    const cli = await world.orch(['route', '--json', '--runtime', '15m', '--', 'make', '-j8'])
    expect(result.structuredContent).toEqual(JSON.parse(cli.stdout))
    expect(JSON.parse(result.content[0]!.text!)).toEqual(JSON.parse(cli.stdout))
    expect(await ok('route', {runtime: '1m', ui: true, light: true})).toMatchObject({target: 'local'})
  })

  it('refuses a bad profile value with the message the CLI gives', async () => {
    const error = await refused('route', {runtime: 'soon'})
    expect(error).toMatchObject({code: 'usage', exitCode: 2, message: 'runtime "soon" is not a duration'})
    expect(await refused('route', {runtime: '1m', parallel: 'two'})).toMatchObject({code: 'usage', message: expect.stringContaining('parallel')})
  })

  it('run returns at once; logs pages through the output to [EXIT: 0]', async () => {
    const name = 'mcp-paged'
    const started = Date.now()
    const outcome = await ok<{name: string; state: string; target: string; exitCode: number | null}>('run', {
      name,
      where: 'cloud',
      command: 'sleep 1; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "line $i é"; done',
    })
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(outcome).toMatchObject({name, state: 'RUNNING', target: 'cloud', exitCode: null})
    const {text, pages} = await pageToEnd(name, 4096)
    expect(pages.length).toBeGreaterThan(5)
    const log = world.readLog(name)
    expect(text).toBe(log)
    expect(text.endsWith('line 3000 é\n[EXIT: 0]\n')).toBe(true)
    expect(pages.at(-1)).toMatchObject({state: 'DONE', exitCode: 0, finished: true, nextOffset: Buffer.byteLength(log)})
    // tail: the last lines only.
    expect(await ok<Page>('logs', {name, tail: 2})).toMatchObject({text: 'line 3000 é\n[EXIT: 0]\n', finished: true})
    // list: the record exactly as orch list --json prints it.
    const listed = await ok<{jobs: unknown[]; total: number}>('list', {name})
    expect(listed.total).toBe(1)
    expect(listed.jobs).toEqual((await world.list()).filter((job) => job.name === name))
  })

  it('a job that exits 3 is reported FAILED with exit code 3', async () => {
    const name = 'mcp-exit3'
    await ok('run', {name, where: 'cloud', command: 'echo bye; exit 3'})
    const {text, pages} = await pageToEnd(name, 65_536)
    expect(text).toBe('bye\n[EXIT: 3]\n')
    expect(pages.at(-1)).toMatchObject({state: 'FAILED', exitCode: 3, finished: true})
    expect((await ok<{jobs: Array<{state: string; exitCode: number}>}>('list', {name})).jobs[0]).toMatchObject({state: 'FAILED', exitCode: 3})
  })

  it('stop ends a running job: STOPPED, and its log still ends with [EXIT: 143]', async () => {
    const name = 'mcp-stop'
    await ok('run', {name, where: 'cloud', command: ['sh', '-c', 'echo up; while :; do sleep 0.2; done']})
    const first = await ok<Page>('logs', {name, fromOffset: 0, waitSeconds: 10})
    expect(first.text).toBe('up\n')
    expect((await ok<{jobs: Array<{name: string}>}>('status', {})).jobs.map((job) => job.name)).toContain(name)
    expect(await ok('stop', {name, grace: 1})).toMatchObject({name, state: 'STOPPED', exitCode: 143, alreadyFinished: false})
    const last = await ok<Page>('logs', {name, fromOffset: first.nextOffset})
    expect(last).toMatchObject({text: '[EXIT: 143]\n', state: 'STOPPED', exitCode: 143, finished: true})
    expect((await ok<{jobs: Array<{name: string}>}>('status', {})).jobs.map((job) => job.name)).not.toContain(name)
  })

  it('a bad job name is refused with the CLI message, and nothing is created on the host', async () => {
    const before = logRootEntries(world.logRoot)
    for (const name of ['bad.name', '../escape', 'two words', 'x'.repeat(65), '-dash']) {
      const error = await refused('run', {name, where: 'cloud', command: 'touch /tmp/never'})
      expect(error).toMatchObject({code: 'usage', exitCode: 2, message: `invalid job name ${JSON.stringify(name)}`})
      expect(error.hint).toContain('letters, digits')
    }
    expect(await refused('logs', {name: 'no;such'})).toMatchObject({code: 'usage'})
    expect(await refused('stop', {name: 'a/b'})).toMatchObject({code: 'usage'})
    expect(await refused('logs', {name: 'never-ran'})).toMatchObject({code: 'notFound', exitCode: 4})
    expect(await refused('run', {name: 'no-command', command: []})).toMatchObject({code: 'usage', message: expect.stringContaining('command')})
    expect(logRootEntries(world.logRoot)).toEqual(before)
    expect(existsSync(join(world.logRoot, 'bad.name'))).toBe(false)
  })

  it('serves 20 concurrent calls over one kept SSH connection', async () => {
    await ok('run', {name: 'mcp-many', where: 'cloud', command: 'echo many'})
    const calls = Array.from({length: 20}, (_, i) =>
      i % 4 === 0 ? call('status', {}) : i % 4 === 1 ? call('list', {limit: 2}) : i % 4 === 2 ? call('logs', {name: 'mcp-many', fromOffset: 0}) : call('route', {runtime: `${i}m`}),
    )
    const results = await Promise.all(calls)
    expect(results.filter((result) => result.isError).map((result) => result.content[0]?.text)).toEqual([])
    for (const listed of results.filter((_, i) => i % 4 === 1)) {
      expect((listed.structuredContent!.jobs as unknown[]).length).toBe(2)
      expect(listed.structuredContent!.total).toBeGreaterThan(2)
      expect(JSON.parse(listed.content[0]!.text!)).toEqual(listed.structuredContent!.jobs)
    }
    expect(sshConnections(transport.pid!)).toBe(1)
    for (let i = 0; i < 5; i++) await ok('status', {})
    expect(sshConnections(transport.pid!)).toBe(1)
    expect(clientErrors).toEqual([])
  })

  it('starts a local job detached and returns at once', async () => {
    const name = 'mcp-local'
    const outcome = await ok('run', {name, where: 'local', command: 'sleep 1; echo here'})
    expect(outcome).toMatchObject({name, target: 'local', host: 'local', state: 'RUNNING', exitCode: null})
    const {text, pages} = await pageToEnd(name, 65_536)
    expect(text).toBe('here\n[EXIT: 0]\n')
    expect(pages.at(-1)).toMatchObject({state: 'DONE', exitCode: 0})
  })
})

describe.skipIf(NO_SANDBOX)('orch mcp and the approval gate', () => {
  // A tool call is an agent's, never a person's: the configured gate (ORCH_MAX_COST) holds it as
  // it holds orch run, and the run tool takes no --approve.
  it('a run over ORCH_MAX_COST is held QUEUED for a person, not started', async () => {
    const gated = new Client({name: 'orch-test-gate', version: '1.0.0'})
    await gated.connect(
      new StdioClientTransport({command: process.execPath, args: [BIN, 'mcp'], env: {...serverEnv(), ORCH_HOURLY_PRICE: '3', ORCH_MAX_COST: '1'}, cwd: world.work, stderr: 'pipe'}),
    )
    try {
      const name = 'mcp-held'
      const result = (await gated.callTool({name: 'run', arguments: {name, where: 'cloud', runtime: '2h', command: 'touch ran-anyway'}})) as ToolResult
      expect(result.isError).toBeFalsy()
      expect(result.structuredContent).toMatchObject({
        name,
        state: 'QUEUED',
        waitingFor: 'approval',
        estimatedCost: {amount: 6, currency: 'USD', basis: 'ORCH_HOURLY_PRICE'},
        approval: {approve: `orch approve ${name}`, refuse: `orch stop ${name}`},
      })
      const runSchema = (await gated.listTools()).tools.find((tool) => tool.name === 'run')!.inputSchema
      expect(Object.keys(runSchema.properties ?? {})).not.toContain('approve')
      expect((await world.list()).find((job) => job.name === name)).toMatchObject({state: 'QUEUED', waitingFor: 'approval'})
      const stopped = (await gated.callTool({name: 'stop', arguments: {name, grace: 1}})) as ToolResult
      expect(stopped.structuredContent).toMatchObject({name, state: 'STOPPED'})
    } finally {
      await gated.close()
    }
  })
})

/** The server spoken to line by line, every byte of its stdout kept. */
class RawServer {
  readonly child: ChildProcess
  private readonly out: Buffer[] = []
  private readonly err: Buffer[] = []
  private nextId = 1
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>

  constructor(env: Record<string, string>, cwd: string) {
    this.child = spawn(process.execPath, [BIN, 'mcp'], {env, cwd, stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdout!.on('data', (chunk: Buffer) => this.out.push(chunk))
    this.child.stderr!.on('data', (chunk: Buffer) => this.err.push(chunk))
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({code, signal})))
  }

  get stdout(): string {
    return Buffer.concat(this.out).toString()
  }

  get stderr(): string {
    return Buffer.concat(this.err).toString()
  }

  send(method: string, params: unknown, notification = false): number {
    const id = this.nextId++
    this.child.stdin!.write(`${JSON.stringify({jsonrpc: '2.0', ...(notification ? {} : {id}), method, params})}\n`)
    return id
  }

  async answer(id: number): Promise<{result?: ToolResult}> {
    let found: {id?: number; result?: ToolResult} | undefined
    await waitUntil(`answer ${id}`, () => {
      found = this.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as {id?: number; result?: ToolResult})
        .find((message) => message.id === id)
      return found !== undefined
    }, 60_000, 20)
    return found!
  }
}

describe.skipIf(NO_SANDBOX)('orch mcp as a process', () => {
  it('writes nothing but protocol messages on stdout, and ends on stdin EOF leaving no process', async () => {
    // Its own runtime directory: a connection holder it started would listen there (the CLI runs
    // of the other tests start holders of their own, under HOME).
    const runtime = join(world.tmp, 'raw-runtime')
    mkdirSync(runtime, {mode: 0o700})
    const server = new RawServer({...serverEnv(), XDG_RUNTIME_DIR: runtime}, world.work)
    await server.answer(server.send('initialize', {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}))
    server.send('notifications/initialized', {}, true)
    const run = await server.answer(server.send('tools/call', {name: 'run', arguments: {name: 'mcp-raw', where: 'cloud', command: 'echo raw out; echo raw err >&2'}}))
    expect(run.result?.isError).toBeFalsy()
    const local = await server.answer(server.send('tools/call', {name: 'run', arguments: {name: 'mcp-raw-local', where: 'local', command: 'echo local out'}}))
    expect(local.result?.isError).toBeFalsy()
    await server.answer(server.send('tools/call', {name: 'logs', arguments: {name: 'mcp-raw', waitSeconds: 5}}))
    await server.answer(server.send('tools/call', {name: 'run', arguments: {name: 'bad name', command: 'true'}}))
    await server.answer(server.send('tools/call', {name: 'status', arguments: {}}))
    const children = descendants(server.child.pid!)
    // A call still waiting when stdin ends answers at once; the process then exits by itself.
    await ok('run', {name: 'mcp-stop-wait', where: 'cloud', command: 'sleep 120'})
    const waiting = server.send('tools/call', {name: 'logs', arguments: {name: 'mcp-stop-wait', waitSeconds: 50}})
    await sleep(1000)
    const ended = Date.now()
    server.child.stdin!.end()
    const exit = await server.exited
    expect(exit).toEqual({code: 0, signal: null})
    expect(Date.now() - ended).toBeLessThan(10_000)
    for (const line of server.stdout.split('\n').filter((text) => text !== '')) {
      expect(JSON.parse(line)).toMatchObject({jsonrpc: '2.0'})
    }
    expect(server.stdout.endsWith('\n')).toBe(true)
    // The jobs' own output reaches stdout only inside a message (the logs page), never as a line.
    expect(server.stdout.split('\n').filter((line) => /^(raw|local) (out|err)$/.test(line))).toEqual([])
    expect(server.stderr).toContain('invalid job name')
    expect(server.stdout.split('\n').filter((line) => line.includes(`"id":${waiting}`))).toHaveLength(1)
    await waitUntil('the server’s children to end', () => children.every((pid) => !isAlive(pid) || !descendantsOfServer(pid)), 5000)
    // It kept its connection itself: no connection holder was started to outlive it.
    const holders = readdirSync('/proc').filter((entry) => {
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        return argv.includes('orch-holder') && argv.includes(runtime)
      } catch {
        return false
      }
    })
    expect(holders).toEqual([])
    await ok('stop', {name: 'mcp-stop-wait', grace: 0})
  })
})

/** Whether a process still runs the server's code (a recycled pid never does). */
function descendantsOfServer(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return argv.includes('bin/run.js') || argv.includes('/bin/sh')
  } catch {
    return false
  }
}
