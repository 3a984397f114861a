import {readFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {jsonDocument} from '../output/json.js'
import type {Action} from './actions/action.js'
import {writeLine} from './actions/action.js'
import {reportError} from './report-error.js'

/**
 * Agents launch with `orch run`, poll `orch status --json` and follow `orch logs`; loading oclif costs more than the SSH
 * round trip itself. For these commands, this path parses the arguments with node:util from the
 * flag definitions oclif wrote to oclif.manifest.json, then calls the same action the oclif command
 * calls (cli/actions). Anything it is unsure of — help, an unknown flag, a bad option value, a
 * missing argument — returns false, and oclif handles it with its own messages.
 */
const ACTIONS: Record<string, () => Promise<Action<never>>> = {
  status: async () => (await import('./actions/jobs.js')).statusAction as Action<never>,
  list: async () => (await import('./actions/jobs.js')).listAction as Action<never>,
  logs: async () => (await import('./actions/jobs.js')).logsAction as Action<never>,
  stop: async () => (await import('./actions/jobs.js')).stopAction as Action<never>,
  run: async () => (await import('./actions/run.js')).runAction as Action<never>,
}

/** Flags whose handling needs the oclif command (e.g. --sync's optional value). */
const OCLIF_ONLY_FLAGS: Record<string, readonly string[]> = {run: ['sync', 'remote-dir', 'artifacts']}

interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  multiple?: boolean
  options?: string[]
  default?: unknown
}

interface ManifestCommand {
  args: Record<string, {name: string; required?: boolean}>
  flags: Record<string, ManifestFlag>
  strict?: boolean
  enableJsonFlag?: boolean
}

export async function tryFastCommand(argv: readonly string[]): Promise<boolean> {
  const id = argv[0]
  if (!id || !(id in ACTIONS) || process.env.ORCH_NO_FAST_PATH) return false
  const rest = argv.slice(1)
  const end = rest.indexOf('--')
  const own = end === -1 ? rest : rest.slice(0, end)
  if (own.some((arg) => arg === '-h' || arg.startsWith('--help'))) return false

  let command: ManifestCommand | undefined
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as {commands: Record<string, ManifestCommand>}
    command = manifest.commands[id]
  } catch {
    return false
  }
  if (!command) return false

  const options: Record<string, {type: 'string' | 'boolean'; short?: string; multiple?: boolean}> = {}
  for (const flag of Object.values(command.flags)) {
    options[flag.name] = {type: flag.type === 'boolean' ? 'boolean' : 'string', ...(flag.char ? {short: flag.char} : {}), ...(flag.multiple ? {multiple: true} : {})}
  }
  let parsed
  try {
    parsed = parseArgs({args: [...rest], options, strict: true, allowPositionals: true, tokens: true})
  } catch {
    return false
  }
  const flags: Record<string, unknown> = {...parsed.values}
  if (OCLIF_ONLY_FLAGS[id]?.some((name) => name in flags)) return false
  for (const flag of Object.values(command.flags)) {
    const value = flags[flag.name]
    // oclif refuses a repeated single-value flag and values outside `options`: let it say so.
    if (!flag.multiple && parsed.tokens.filter((t) => t.kind === 'option' && t.name === flag.name).length > 1) return false
    if (flag.options && typeof value === 'string' && !flag.options.includes(value)) return false
    if (value === undefined && flag.default !== undefined) flags[flag.name] = flag.default
  }
  const argNames = Object.keys(command.args)
  const args: Record<string, string | undefined> = {}
  argNames.forEach((name, i) => (args[name] = parsed.positionals[i]))
  if (argNames.some((name) => command.args[name]?.required && args[name] === undefined)) return false
  const words = parsed.positionals.slice(argNames.length)
  if (command.strict !== false && words.length > 0) return false

  const json = flags.json === true
  try {
    const action = await ACTIONS[id]!()
    const result = await action({flags: flags as never, args, words}, {
      json,
      say: (text) => void (json || writeLine(process.stdout, text())),
      note: (text) => void writeLine(process.stderr, text),
    })
    if (json && result !== undefined) process.stdout.write(`${jsonDocument(result, process.stdout.isTTY === true)}\n`)
  } catch (error) {
    reportError(error, {json})
  }
  return true
}
