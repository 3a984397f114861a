import {DURATION_FORMS, SIZE_FORMS} from '../config/units.js'
import {HEAVY_KINDS} from '../routing/profile.js'

/**
 * The job-profile flags as plain data: oclif builds its flags from this table, and the fast
 * `orch route` path (cli/fast-route.ts) parses with node:util from the same table.
 */
export const PROFILE_FLAG_SPECS = {
  runtime: {type: 'string', description: `expected runtime (${DURATION_FORMS})`},
  memory: {type: 'string', description: `expected peak memory (${SIZE_FORMS})`},
  'heavy-logs': {type: 'boolean', description: 'prints a lot of output (watch, tail -f, dev server, build logs)'},
  heavy: {type: 'string', description: `heavy processing kind: ${HEAVY_KINDS.join(', ')}`},
  parallel: {type: 'string', description: 'how many jobs run at once (2 or more → cloud)'},
  ui: {type: 'boolean', description: 'UI-centric work (browser or IDE operation)'},
  light: {type: 'boolean', description: 'lightweight check (git status, ls, one-off command)'},
  agent: {type: 'string', description: 'the agent asking (Builder, Lens, Rally, …); gives its default target'},
} as const satisfies Record<string, {type: 'string' | 'boolean'; description: string}>
