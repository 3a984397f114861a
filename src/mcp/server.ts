/**
 * `orch mcp`: orch's commands as MCP tools over stdio, for agent frameworks that would otherwise
 * shell out to orch and parse its output. One long-lived process: the cloud host's SSH connection
 * stays open between calls (sites/kept-sites.ts) and calls run concurrently.
 *
 * - stdout carries protocol messages only: anything else written there (a stray log line) goes to
 *   stderr, where the server's own notes go too.
 * - A failed call is a tool result with isError and orch's error document (the one `--json`
 *   prints: code, message, hint, exitCode) as its text; invalid arguments are a usage error too.
 *   It is not the structured result: the SDK's client checks any structured result against the
 *   tool's output schema, errors included.
 * - stdin's end ends the server: waiting calls answer at once, running ones finish, connections
 *   close, and the process exits with nothing left running.
 *
 * Built on the SDK's low-level Server, not McpServer: McpServer refuses arguments that fail the
 * input schema with a message of its own, not orch's error document.
 */
import {readFileSync} from 'node:fs'
import {Writable} from 'node:stream'

import {Server} from '@modelcontextprotocol/sdk/server/index.js'
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js'
import {type CallToolResult, CallToolRequestSchema, ListToolsRequestSchema, McpError, ErrorCode} from '@modelcontextprotocol/sdk/types.js'
import {z} from 'zod'

import {jsonDocument} from '../output/json.js'
import {toOrchError, usageError} from '../errors/errors.js'
import {redactSecrets} from '../errors/redact.js'
import {keepSitesOpen} from '../sites/kept-sites.js'
import {TOOLS, type Tool} from './tools.js'

const INSTRUCTIONS = `orch decides where a job runs (this machine or a cloud host) and runs it there in a detached tmux session; its log is ~/logs/NAME/run.log on that host, ending with [EXIT: N].
Use route to ask where a job belongs; run to start one (it returns at once); logs to page through its output until finished; status for unfinished jobs, list for all; stop to end one.
Name jobs <project>-<task>-<YYYYMMDD-HHMM> (run's stamp: true appends the time). A failed call returns isError with {"error": {"code", "message", "hint", "exitCode"}}: follow the hint.`

/** The JSON Schema a tool's input or output is advertised with (draft-07, as the SDK's McpServer does). */
export function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): {type: 'object'; [key: string]: unknown} {
  const {$schema: _, ...rest} = z.toJSONSchema(schema, {target: 'draft-7', io}) as {type: 'object'; [key: string]: unknown}
  return rest
}

export function toolList() {
  return TOOLS.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: jsonSchemaOf(tool.input, 'input'),
    outputSchema: jsonSchemaOf(tool.output, 'output'),
    annotations: {title: tool.title, ...tool.annotations},
  }))
}

function errorResult(error: unknown): CallToolResult {
  const mapped = toOrchError(error)
  process.stderr.write(`orch: ${redactSecrets(mapped.toLine())}\n`)
  return {isError: true, content: [{type: 'text', text: JSON.stringify(mapped.toDocument(redactSecrets))}]}
}

/** A usage error naming each argument the input schema refused. */
function invalidArguments(tool: Tool, error: z.ZodError): Error {
  const problems = error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : 'arguments'
    return issue.code === 'unrecognized_keys' ? `${where}: unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.join(', ')}` : `${where}: ${issue.message}`
  })
  return usageError(`invalid arguments for ${tool.name}: ${problems.join('; ')}`, `see the ${tool.name} tool's input schema (tools/list)`)
}

async function callTool(tool: Tool, rawArgs: unknown, signal: AbortSignal): Promise<CallToolResult> {
  try {
    const parsed = tool.input.safeParse(rawArgs ?? {})
    if (!parsed.success) throw invalidArguments(tool, parsed.error)
    const args = parsed.data as Record<string, unknown>
    const value = await tool.call(args, {signal, note: (line) => void process.stderr.write(`${line}\n`)})
    const {document, structured} = tool.present ? tool.present(value, args) : {document: value, structured: value as Record<string, unknown>}
    return {content: [{type: 'text', text: jsonDocument(document, false)}], structuredContent: structured}
  } catch (error) {
    return errorResult(error)
  }
}

/** stdout for protocol messages only: what else writes to process.stdout lands on stderr. */
function protocolStdout(): Writable {
  const write = process.stdout.write.bind(process.stdout) as (chunk: Buffer, callback: (error?: Error | null) => void) => boolean
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk, callback)
    },
  })
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version
  } catch {
    return '0.0.0'
  }
}

/** Serve until stdin ends. */
export async function serveMcp(): Promise<void> {
  const stdout = protocolStdout()
  const {closeKeptSites} = keepSitesOpen()
  const ending = new AbortController()
  const inFlight = new Set<Promise<unknown>>()
  const tools = new Map(TOOLS.map((tool) => [tool.name, tool]))
  const listed = toolList()

  const server = new Server({name: 'orch', version: version()}, {capabilities: {tools: {}}, instructions: INSTRUCTIONS})
  server.setRequestHandler(ListToolsRequestSchema, () => ({tools: listed}))
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const tool = tools.get(request.params.name)
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}; the tools are ${[...tools.keys()].join(', ')}`)
    const call = callTool(tool, request.params.arguments, AbortSignal.any([extra.signal, ending.signal]))
    inFlight.add(call)
    void call.finally(() => inFlight.delete(call))
    return call
  })
  server.onerror = (error) => void process.stderr.write(`orch mcp: ${error.message}\n`)

  const stdinEnded = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve)
    process.stdin.once('close', resolve)
  })
  await server.connect(new StdioServerTransport(process.stdin, stdout))
  await stdinEnded
  ending.abort()
  await Promise.allSettled([...inFlight])
  // The SDK sends a result a few ticks after its handler settles; closing first would drop it.
  await new Promise((resolve) => setImmediate(resolve))
  await server.close()
  await closeKeptSites()
  await new Promise<void>((resolve) => stdout.end(resolve))
}
