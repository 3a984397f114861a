import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {agentAffinity} from '../../../src/routing/agents.js'
import {DEFAULT_THRESHOLDS, type Thresholds, decide} from '../../../src/routing/decide.js'
import {HEAVY_KINDS, type JobProfile, REASON_CODES, type ReasonCode} from '../../../src/routing/profile.js'

import {GB, LOCAL, MB, MIN, NEUTRAL, SECOND, codes, reason, run} from './decisions.js'

const FORCE_ROWS: Array<{row: string; add: JobProfile; code: ReasonCode}> = [
  {row: 'runtime estimate > 10 min', add: {runtimeMs: 11 * MIN}, code: 'runtime-long'},
  {row: 'heavy log output', add: {heavyLogs: true}, code: 'heavy-logs'},
  ...HEAVY_KINDS.map((kind) => ({row: `heavy processing: ${kind}`, add: {heavyKind: kind}, code: 'heavy-processing' as const})),
  {row: 'parallel execution: 2 jobs', add: {parallel: 2}, code: 'parallel'},
  {row: 'parallel execution: 5 jobs', add: {parallel: 5}, code: 'parallel'},
  {row: 'memory estimate > 8 GB', add: {memory: 12 * GB}, code: 'memory-high'},
  {row: 'memory estimate unknown (explicit)', add: {memory: 'unknown'}, code: 'memory-unknown'},
]

describe('routing rules, force_cloud: each condition alone sends the job to the cloud', () => {
  it('the neutral profile has no force_cloud reason (a plain default)', () => {
    expect(run(NEUTRAL)).toMatchObject({target: 'cloud'})
    expect(codes(NEUTRAL)).toEqual(['default-cloud'])
  })

  it.each(FORCE_ROWS)('$row → cloud, $code', ({add, code}) => {
    const decision = run({...NEUTRAL, ...add})
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual([code])
    expect(decision.reasons[0]!.inferred).toBe(false)
  })

  it('memory estimate not given (and not implied small) → cloud, memory-unknown', () => {
    const decision = run({runtimeMs: 5 * MIN})
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual(['memory-unknown'])
  })

  it('a heavy-processing reason names its kind', () => {
    for (const kind of HEAVY_KINDS) expect(reason({...NEUTRAL, heavyKind: kind}, 'heavy-processing')!.message).toContain(kind)
  })

  it('carries every reason that applied, not just the first', () => {
    const decision = run({runtimeMs: 2 * 60 * MIN, heavyLogs: true, heavyKind: 'llm', parallel: 3, memory: 16 * GB})
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual(['runtime-long', 'heavy-logs', 'heavy-processing', 'parallel', 'memory-high'])
  })

  it('thresholds are strict: exactly 10 min and exactly 8 GB do not force; one step more does', () => {
    expect(codes({...NEUTRAL, runtimeMs: 10 * MIN})).not.toContain('runtime-long')
    expect(codes({...NEUTRAL, runtimeMs: 10 * MIN + SECOND})).toContain('runtime-long')
    expect(codes({...NEUTRAL, memory: 8 * GB})).not.toContain('memory-high')
    expect(codes({...NEUTRAL, memory: 8 * GB + 1})).toContain('memory-high')
  })

  it('parallel 1 is not parallel execution', () => {
    expect(codes({...NEUTRAL, parallel: 1})).toEqual(['default-cloud'])
    expect(run({...LOCAL, parallel: 1}).target).toBe('local')
  })

  it('reason messages say what was measured against what', () => {
    expect(reason({...NEUTRAL, runtimeMs: 15 * MIN}, 'runtime-long')!.message).toBe('runtime 15m is over 10m')
    expect(reason({...NEUTRAL, memory: 12 * GB}, 'memory-high')!.message).toBe('memory 12GB is over 8GB')
    expect(reason({...NEUTRAL, parallel: 2}, 'parallel')!.message).toContain('2 jobs at once')
  })
})

describe('routing rules, allow_local: local only when all hold and nothing forces the cloud', () => {
  it('runtime ≤ 3 min + UI-centric + lightweight check → local with all three reasons', () => {
    const decision = run(LOCAL)
    expect(decision.target).toBe('local')
    expect(decision.reasons.map((r) => r.code)).toEqual(['runtime-short', 'ui-centric', 'lightweight'])
    expect(decision.reasons.every((r) => !r.inferred)).toBe(true)
  })

  it('runtime of exactly 3 min still counts as short', () => {
    expect(run({...LOCAL, runtimeMs: 3 * MIN}).target).toBe('local')
    expect(run({...LOCAL, runtimeMs: 3 * MIN + SECOND}).target).toBe('cloud')
  })

  const rows: Array<{row: string; only: JobProfile; missing: string}> = [
    {row: 'runtime ≤ 3 min alone', only: {runtimeMs: 1 * MIN, memory: 512 * MB}, missing: 'not UI-centric'},
    {row: 'UI-centric alone', only: {ui: true, memory: 512 * MB}, missing: 'runtime unknown'},
    {row: 'lightweight check alone', only: {light: true}, missing: 'runtime unknown'},
  ]
  it.each(rows)('$row → cloud (default-cloud)', ({only, missing}) => {
    const decision = run(only)
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual(['default-cloud'])
    expect(decision.reasons[0]!.message).toContain(missing)
  })

  const withoutOne: Array<{missing: string; profile: JobProfile; says: string}> = [
    {missing: 'runtime ≤ 3 min', profile: {...LOCAL, runtimeMs: 4 * MIN}, says: 'runtime over 3m'},
    {missing: 'runtime known', profile: {memory: 512 * MB, ui: true, light: true}, says: 'runtime unknown'},
    {missing: 'UI-centric', profile: {...LOCAL, ui: false}, says: 'not UI-centric'},
    {missing: 'lightweight check', profile: {...LOCAL, light: false}, says: 'not a lightweight check'},
  ]
  it.each(withoutOne)('all but "$missing" → cloud, and the reason says what was missing', ({profile, says}) => {
    const decision = run(profile)
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual(['default-cloud'])
    expect(decision.reasons[0]!.message).toContain(says)
  })
})

describe('routing rules, order of decision', () => {
  it.each(FORCE_ROWS)('(1) force_cloud beats allow_local: $row', ({add, code}) => {
    const decision = run({...LOCAL, ...add})
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual([code])
  })

  it('(1) force_cloud beats a local agent affinity, and says the agent was overridden', () => {
    const decision = run({agent: 'Lens', runtimeMs: 15 * MIN})
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.map((r) => r.code)).toEqual(['runtime-long', 'agent-overridden'])
    expect(decision.reasons[1]!.message).toContain('Lens')
  })

  it('(2) allow_local beats a cloud agent affinity', () => {
    const decision = run({...LOCAL, agent: 'Builder'})
    expect(decision.target).toBe('local')
    expect(decision.reasons.map((r) => r.code)).toEqual(['runtime-short', 'ui-centric', 'lightweight'])
  })

  it('(3) a local agent affinity decides when the rules leave it open', () => {
    const decision = run({...NEUTRAL, agent: 'Lens'})
    expect(decision.target).toBe('local')
    expect(decision.reasons.map((r) => r.code)).toEqual(['agent-local'])
  })

  it('(4) otherwise cloud', () => {
    expect(run(NEUTRAL).target).toBe('cloud')
    expect(run({}).target).toBe('cloud')
    const cloudAgent = run({...NEUTRAL, agent: 'Builder'})
    expect(cloudAgent.target).toBe('cloud')
    expect(cloudAgent.reasons.map((r) => r.code)).toEqual(['agent-cloud'])
  })

  it('an empty profile goes to the cloud because its memory is unknown', () => {
    expect(codes({})).toEqual(['memory-unknown'])
  })
})

describe('routing rules, agent affinity', () => {
  const CLOUD_AGENTS = ['Builder', 'Artisan', 'Forge', 'Anvil', 'Analyst', 'Schema', 'Tuner', 'Scout', 'Sentinel', 'Probe', 'Radar', 'Voyager', 'Stream', 'Bolt']
  const LOCAL_AGENTS = ['Lens', 'Judge', 'Cipher', 'CEO', 'Magi', 'Bridge', 'Canvas', 'Scribe', 'Quill']
  const spellings = (name: string) => [name, name.toLowerCase(), name.toUpperCase(), `  ${name} `]

  it.each(CLOUD_AGENTS)('%s defaults to cloud (any spelling)', (name) => {
    for (const spelling of spellings(name)) {
      expect(agentAffinity(spelling)?.affinity).toBe('cloud')
      const decision = run({...NEUTRAL, agent: spelling})
      expect(decision.target).toBe('cloud')
      expect(decision.reasons.map((r) => r.code)).toEqual(['agent-cloud'])
    }
  })

  it.each(LOCAL_AGENTS)('%s defaults to local (any spelling)', (name) => {
    for (const spelling of spellings(name)) {
      expect(agentAffinity(spelling)?.affinity).toBe('local')
      const decision = run({...NEUTRAL, agent: spelling})
      expect(decision.target).toBe('local')
      expect(decision.reasons.map((r) => r.code)).toEqual(['agent-local'])
    }
  })

  it('Rally depends on its parallel count: 1 → plain rules, 2 → cloud', () => {
    expect(agentAffinity('rally')?.affinity).toBe('depends')
    expect(run({...LOCAL, agent: 'Rally', parallel: 1}).target).toBe('local')
    expect(codes({...NEUTRAL, agent: 'Rally', parallel: 1})).toEqual(['default-cloud'])
    const two = run({...LOCAL, agent: 'RALLY', parallel: 2})
    expect(two.target).toBe('cloud')
    expect(two.reasons.map((r) => r.code)).toEqual(['parallel'])
  })

  it('Nexus uses the plain rules: the same decision as with no agent', () => {
    expect(agentAffinity('NEXUS')?.affinity).toBe('depends')
    const profiles: JobProfile[] = [LOCAL, NEUTRAL, {}, {runtimeMs: 20 * MIN}, {...LOCAL, ui: false}, {light: true, runtimeMs: MIN}]
    for (const profile of profiles) {
      const plain = decide(profile)
      const nexus = run({...profile, agent: 'nexus'})
      expect(nexus.target).toBe(plain.target)
      expect(nexus.reasons).toEqual(plain.reasons)
    }
  })

  it('an unknown agent is not an error: it has no affinity and is reported as agent-unknown', () => {
    expect(agentAffinity('Zork')).toBeUndefined()
    for (const profile of [LOCAL, NEUTRAL, {runtimeMs: 20 * MIN}, {}]) {
      const plain = decide(profile)
      const decision = run({...profile, agent: 'Zork'})
      expect(decision.target).toBe(plain.target)
      expect(decision.reasons.map((r) => r.code)).toEqual([...plain.reasons.map((r) => r.code), 'agent-unknown'])
      expect(decision.reasons.at(-1)!.message).toContain('Zork')
      expect(decision.reasons.at(-1)!.inferred).toBe(false)
    }
  })

  it('a blank agent name counts as no agent', () => {
    expect(run({...NEUTRAL, agent: '  '}).reasons).toEqual(decide(NEUTRAL).reasons)
  })
})

describe('routing rules, implied-small memory', () => {
  it('memory not given forces the cloud, even with a cloud or unknown agent', () => {
    expect(codes({runtimeMs: 5 * MIN})).toContain('memory-unknown')
    expect(codes({runtimeMs: 5 * MIN, agent: 'Builder'})).toContain('memory-unknown')
    expect(codes({runtimeMs: 5 * MIN, agent: 'Zork'})).toContain('memory-unknown')
    expect(codes({runtimeMs: 5 * MIN, agent: 'Rally'})).toContain('memory-unknown')
  })

  it('a lightweight check implies small memory', () => {
    expect(codes({runtimeMs: 5 * MIN, light: true})).toEqual(['default-cloud'])
    expect(run({runtimeMs: MIN, light: true, ui: true}).target).toBe('local')
  })

  it('a lightweight check inferred from the command implies small memory too', () => {
    expect(codes({runtimeMs: 5 * MIN, command: ['git', 'status']})).toEqual(['default-cloud'])
  })

  it('a local-affinity agent implies small memory', () => {
    const decision = run({runtimeMs: 5 * MIN, agent: 'Judge'})
    expect(decision.target).toBe('local')
    expect(decision.reasons.map((r) => r.code)).toEqual(['agent-local'])
  })

  it('an explicit memory "unknown" always forces the cloud, even when light or with a local agent', () => {
    expect(run({...LOCAL, memory: 'unknown'}).reasons.map((r) => r.code)).toEqual(['memory-unknown'])
    const lens = run({runtimeMs: MIN, memory: 'unknown', agent: 'Lens'})
    expect(lens.target).toBe('cloud')
    expect(lens.reasons.map((r) => r.code)).toEqual(['memory-unknown', 'agent-overridden'])
    expect(lens.reasons[0]!.message).toBe('memory estimate is unknown')
  })

  it('a known small memory is not implied anything: it is simply known', () => {
    expect(codes({runtimeMs: 5 * MIN, memory: 512 * MB})).toEqual(['default-cloud'])
  })
})

describe('routing rules, configurable thresholds', () => {
  const t = (over: Partial<Thresholds>): Thresholds => ({...DEFAULT_THRESHOLDS, ...over})

  it('defaults are 3 min, 10 min and 8 GB', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({localMaxRuntimeMs: 3 * MIN, cloudMinRuntimeMs: 10 * MIN, cloudMemoryBytes: 8 * GB})
  })

  it('cloudMinRuntime 30m: a 15m job is no longer forced', () => {
    expect(codes({...NEUTRAL, runtimeMs: 15 * MIN})).toEqual(['runtime-long'])
    expect(codes({...NEUTRAL, runtimeMs: 15 * MIN}, t({cloudMinRuntimeMs: 30 * MIN}))).toEqual(['default-cloud'])
    expect(run({runtimeMs: 15 * MIN, agent: 'Lens'}, t({cloudMinRuntimeMs: 30 * MIN})).target).toBe('local')
    expect(reason({...NEUTRAL, runtimeMs: 45 * MIN}, 'runtime-long', t({cloudMinRuntimeMs: 30 * MIN}))!.message).toBe('runtime 45m is over 30m')
  })

  it('cloudMinRuntime 5m: a 6m job is forced', () => {
    expect(codes({...NEUTRAL, runtimeMs: 6 * MIN}, t({cloudMinRuntimeMs: 5 * MIN}))).toEqual(['runtime-long'])
  })

  it('localMaxRuntime 5m: a 4m UI-centric light check runs locally; 1m: a 2m one does not', () => {
    expect(run({...LOCAL, runtimeMs: 4 * MIN}).target).toBe('cloud')
    expect(run({...LOCAL, runtimeMs: 4 * MIN}, t({localMaxRuntimeMs: 5 * MIN})).target).toBe('local')
    expect(reason({...LOCAL, runtimeMs: 4 * MIN}, 'runtime-short', t({localMaxRuntimeMs: 5 * MIN}))!.message).toBe('runtime 4m is within 5m')
    expect(run({...LOCAL, runtimeMs: 2 * MIN}, t({localMaxRuntimeMs: 1 * MIN})).target).toBe('cloud')
  })

  it('cloudMemory 16G: 12G is no longer forced; 4G: 6G is', () => {
    expect(codes({...NEUTRAL, memory: 12 * GB}, t({cloudMemoryBytes: 16 * GB}))).toEqual(['default-cloud'])
    expect(run({...LOCAL, memory: 12 * GB}, t({cloudMemoryBytes: 16 * GB})).target).toBe('local')
    expect(codes({...NEUTRAL, memory: 6 * GB}, t({cloudMemoryBytes: 4 * GB}))).toEqual(['memory-high'])
  })
})

describe('reason codes', () => {
  it("are the README's list for agents, no more, no fewer", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const sentence = /Reason codes \(stable, for agents\):([\s\S]*?)\(its\n?\s*message/.exec(readme)?.[1] ?? ''
    expect([...sentence.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]).filter((code) => !code.startsWith('--'))).toEqual([...REASON_CODES])
  })
})
