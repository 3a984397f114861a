import {defineCommand} from '../cli/command.js'

export default defineCommand({
  id: 'mcp',
  summary: 'Serve orch as MCP tools over stdio (route, run, status, list, logs, stop) for agent frameworks',
  description: `A Model Context Protocol server on stdin/stdout: each tool is the command of the same name, with the same inputs and the same JSON results as --json. It keeps the cloud host's SSH connection open between calls and serves calls concurrently; it ends when stdin closes. Add it to an agent as the command "orch mcp".`,
  examples: ['<%= config.bin %> mcp', 'claude mcp add orch -- orch mcp'],
  enableJsonFlag: false,
  flags: {},
  async run() {
    // The MCP SDK and zod load here only: no other command pays for them.
    const {serveMcp} = await import('../mcp/server.js')
    await serveMcp()
    return undefined
  },
})
