import {parseArgs} from 'node:util'

import {loadConfig} from '../config/config.js'
import {route} from '../routing/route.js'
import {jsonDocument} from '../output/json.js'
import {PROFILE_FLAG_SPECS} from './profile-flag-specs.js'
import {reportError} from './report-error.js'
import {profileFromFlags} from './routing-flags-parse.js'

/**
 * Agents call `orch route` many times a task, and loading oclif costs more than Node's own start.
 * This path answers the common forms of `orch route` with node:util's parser over the same flag
 * table, the same validation and the same formatter as the oclif command; anything else (help, an
 * unknown flag) returns false and goes through oclif. A test checks both paths print the same.
 */
export async function tryFastRoute(argv: readonly string[]): Promise<boolean> {
  if (argv[0] !== 'route' || process.env.ORCH_NO_FAST_PATH) return false
  const rest = argv.slice(1)
  const end = rest.indexOf('--')
  const own = end === -1 ? rest : rest.slice(0, end)
  if (own.some((arg) => arg === '--help' || arg === '-h' || arg.startsWith('--help='))) return false

  let parsed
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {...PROFILE_FLAG_SPECS, json: {type: 'boolean'}},
      strict: true,
      allowPositionals: true,
      tokens: true,
    })
  } catch {
    return false
  }
  // node:util keeps the last of a repeated option; oclif refuses it, so let oclif say so.
  const seen = new Set<string>()
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue
    if (seen.has(token.name)) return false
    seen.add(token.name)
  }

  try {
    const profile = profileFromFlags(parsed.values, parsed.positionals)
    const result = route(profile, loadConfig().thresholds)
    if (parsed.values.json) {
      process.stdout.write(`${jsonDocument(result, process.stdout.isTTY === true)}\n`)
    } else {
      const {formatRoute} = await import('../output/format-route.js')
      process.stdout.write(`${formatRoute(result)}\n`)
    }
  } catch (error) {
    reportError(error, {json: parsed.values.json === true})
  }
  return true
}
