/** What is known about a job before it runs. Absent fields are unknown. */
export const HEAVY_KINDS = ['llm', 'embedding', 'vectordb', 'scraping', 'aggregation'] as const
export type HeavyKind = (typeof HEAVY_KINDS)[number]

export interface JobProfile {
  runtimeMs?: number
  /** Bytes, or 'unknown' when the caller says explicitly that nobody knows. */
  memory?: number | 'unknown'
  heavyLogs?: boolean
  heavyKind?: HeavyKind
  parallel?: number
  ui?: boolean
  light?: boolean
  agent?: string
  /** The command's words, used only to infer fields the flags left out. */
  command?: readonly string[]
}

export type Target = 'cloud' | 'local'

export interface Reason {
  /** Stable identifier agents may match on. */
  code: ReasonCode
  message: string
  /** True when the fact behind the reason was guessed from the command text. */
  inferred: boolean
}

/** Every reason code: a stable contract agents match on (README, orch mcp's schemas). */
export const REASON_CODES = [
  'runtime-long',
  'heavy-logs',
  'heavy-processing',
  'parallel',
  'memory-high',
  'memory-unknown',
  'runtime-short',
  'ui-centric',
  'lightweight',
  'agent-local',
  'agent-cloud',
  'agent-unknown',
  'agent-overridden',
  'default-cloud',
  // orch run --where cloud|local: the user chose the target; the rules were not asked.
  'where-forced',
] as const

export type ReasonCode = (typeof REASON_CODES)[number]

export interface Decision {
  target: Target
  reasons: Reason[]
}
