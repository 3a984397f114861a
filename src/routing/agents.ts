/** Agent affinity: the default target where the rules leave the choice open. */
export type Affinity = 'cloud' | 'local' | 'depends'

const AFFINITY: Record<string, {affinity: Affinity; role: string}> = {}
function define(affinity: Affinity, role: string, names: string[]) {
  for (const name of names) AFFINITY[name.toLowerCase()] = {affinity, role}
}

define('cloud', 'builds', ['Builder', 'Artisan', 'Forge', 'Anvil'])
define('cloud', 'data processing', ['Analyst', 'Schema', 'Tuner'])
define('cloud', 'scans', ['Scout', 'Sentinel', 'Probe'])
define('cloud', 'test runs', ['Radar', 'Voyager'])
define('cloud', 'pipelines', ['Stream', 'Bolt'])
define('local', 'read-only', ['Lens', 'Judge', 'Cipher'])
define('local', 'decisions only', ['CEO', 'Magi', 'Bridge'])
define('local', 'documents', ['Canvas', 'Scribe', 'Quill'])
// Rally is cloud when it runs 2+ jobs at once (already a force_cloud rule); Nexus classifies and
// delegates, so both fall through to the plain rules.
define('depends', 'parallel orchestration', ['Rally'])
define('depends', 'classifies, then delegates', ['Nexus'])

export function agentAffinity(name: string): {affinity: Affinity; role: string} | undefined {
  return AFFINITY[name.trim().toLowerCase()]
}
