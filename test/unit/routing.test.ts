import {describe, expect, it} from 'vitest'

import {formatDuration, formatSize, parseDuration, parseSize} from '../../src/config/units.js'
import {agentAffinity} from '../../src/routing/agents.js'
import {DEFAULT_THRESHOLDS, type Thresholds, decide} from '../../src/routing/decide.js'
import {inferFromCommand} from '../../src/routing/inference.js'
import {HEAVY_KINDS, type JobProfile, type Reason, type ReasonCode} from '../../src/routing/profile.js'
import {route} from '../../src/routing/route.js'

const SECOND = 1000
const MIN = 60 * SECOND
const MB = 1024 ** 2
const GB = 1024 ** 3

const REASON_CODES: readonly ReasonCode[] = [
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
  'where-forced',
]

/** Every reason, of every decision made in this file, has exactly a stable code, a message and `inferred`. */
function expectWellFormed(reasons: Reason[]): void {
  expect(reasons.length).toBeGreaterThan(0)
  for (const reason of reasons) {
    expect(Object.keys(reason).sort()).toEqual(['code', 'inferred', 'message'])
    expect(REASON_CODES).toContain(reason.code)
    expect(typeof reason.message).toBe('string')
    expect(reason.message.trim()).not.toBe('')
    expect(typeof reason.inferred).toBe('boolean')
  }
}

function run(profile: JobProfile, thresholds?: Thresholds) {
  const decision = decide(profile, thresholds)
  expectWellFormed(decision.reasons)
  return decision
}

const codes = (profile: JobProfile, thresholds?: Thresholds) => run(profile, thresholds).reasons.map((r) => r.code)
const reason = (profile: JobProfile, code: ReasonCode, thresholds?: Thresholds) => run(profile, thresholds).reasons.find((r) => r.code === code)

/** Nothing forces the cloud and not every local condition holds: plain default. */
const NEUTRAL: JobProfile = {runtimeMs: 5 * MIN, memory: 1 * GB}
/** Every allow_local condition holds and no force_cloud condition does. */
const LOCAL: JobProfile = {runtimeMs: 1 * MIN, memory: 512 * MB, ui: true, light: true}

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

describe('routing rules, inference from the command text', () => {
  const words = (text: string) => text.split(' ')
  const inferredReason = (command: string, code: ReasonCode, extra: JobProfile = NEUTRAL) => reason({...extra, command: words(command)}, code)

  it.each(['tail -f /var/log/syslog', 'tail -F app.log', 'tail -qf a.log b.log', 'tail -fn 100 app.log', 'tail -n 100 -f app.log', 'tail --follow app.log', 'watch -n 1 df -h', 'watch kubectl get pods', 'npm run dev', 'npm start', 'pnpm dev', 'yarn run dev', 'next dev', 'jest --watch', 'docker logs -f web'])(
    '%s → heavy-logs, inferred',
    (command) => {
      const found = inferredReason(command, 'heavy-logs')
      expect(found).toMatchObject({code: 'heavy-logs', inferred: true})
      expect(found!.message).toContain('inferred')
      expect(run({...NEUTRAL, command: words(command)}).target).toBe('cloud')
    },
  )

  it.each(['tail -n 100 app.log', 'tail -n 5 app.log | grep -f patterns.txt', 'grep -f patterns.txt app.log', 'stopwatch.sh'])('%s is not heavy logs', (command) => {
    expect(inferFromCommand(words(command)).heavyLogs).toBeUndefined()
  })

  it.each([
    ['python embed.py --model bge-small', 'embedding'],
    ['python -m sentence_transformers.encode corpus', 'embedding'],
    ['scrapy crawl quotes', 'scraping'],
    ['node scrape.js https://example.com', 'scraping'],
    ['ollama run llama3', 'llm'],
    ['docker run qdrant/qdrant', 'vectordb'],
    ['spark-submit daily.py', 'aggregation'],
  ])('%s → heavy-processing (%s), inferred', (command, kind) => {
    const found = inferredReason(command, 'heavy-processing')
    expect(found).toMatchObject({code: 'heavy-processing', inferred: true})
    expect(found!.message).toContain(kind)
    expect(route({...NEUTRAL, command: words(command)}, DEFAULT_THRESHOLDS).profile).toMatchObject({heavy: kind, inferred: ['heavy']})
  })

  it.each(['python backfill.py --since 2024-01-01', 'python train.py', 'docker build -t app .'])('%s → runtime-long, inferred', (command) => {
    const decision = run({memory: GB, command: words(command)})
    expect(decision.target).toBe('cloud')
    expect(decision.reasons.find((r) => r.code === 'runtime-long')).toMatchObject({inferred: true})
  })

  it.each(['git status', 'git log --oneline', 'ls', 'ls -la src', 'pwd', 'cat README.md'])('%s → lightweight check, inferred', (command) => {
    expect(inferFromCommand(words(command)).light).toBeDefined()
    // Inferred light implies a short runtime and small memory: with --ui it runs locally.
    const decision = run({ui: true, command: words(command)})
    expect(decision.target).toBe('local')
    expect(decision.reasons).toEqual([
      {code: 'runtime-short', message: expect.stringContaining('inferred'), inferred: true},
      {code: 'ui-centric', message: 'UI-centric', inferred: false},
      {code: 'lightweight', message: expect.stringContaining('inferred'), inferred: true},
    ])
    expect(route({ui: true, command: words(command)}, DEFAULT_THRESHOLDS).profile.inferred).toEqual(['light'])
  })

  it.each(['ls | xargs rm', 'git status && git push', 'ls; rm -rf build', 'cat $(find . -name x)', 'echo hi > out.txt', 'ls `pwd`'])(
    '%s is a pipeline or sequence, not a lightweight check',
    (command) => {
      expect(inferFromCommand(words(command)).light).toBeUndefined()
      const decision = run({ui: true, command: words(command)})
      expect(decision.target).toBe('cloud')
      expect(decision.reasons.map((r) => r.code)).toEqual(['memory-unknown'])
    },
  )

  it('the command words may arrive as one string or many', () => {
    expect(inferFromCommand(['tail -f x.log']).heavyLogs).toBeDefined()
    expect(inferFromCommand(['git', 'status']).light).toBeDefined()
  })

  it('a plain command infers nothing', () => {
    expect(inferFromCommand(['python', 'app.py'])).toEqual({})
    expect(inferFromCommand([])).toEqual({})
    expect(codes({command: ['make']})).toEqual(['memory-unknown'])
  })

  describe('explicit values win over inference', () => {
    it('heavyLogs: false given explicitly → no heavy-logs from tail -f', () => {
      expect(codes({...NEUTRAL, heavyLogs: false, command: words('tail -f app.log')})).toEqual(['default-cloud'])
    })

    it('heavyLogs: true given explicitly → the reason is not marked inferred', () => {
      expect(reason({...NEUTRAL, heavyLogs: true, command: words('tail -f app.log')}, 'heavy-logs')).toEqual({
        code: 'heavy-logs',
        message: 'heavy log output',
        inferred: false,
      })
    })

    it('an explicit heavy kind replaces the inferred one', () => {
      expect(reason({...NEUTRAL, heavyKind: 'llm', command: words('scrapy crawl quotes')}, 'heavy-processing')).toEqual({
        code: 'heavy-processing',
        message: 'heavy processing: llm',
        inferred: false,
      })
    })

    it('an explicit runtime replaces the inferred long runtime', () => {
      expect(codes({memory: GB, runtimeMs: 2 * MIN, command: words('python train.py')})).toEqual(['default-cloud'])
      expect(codes({memory: GB, runtimeMs: 20 * MIN, command: words('python train.py')})).toEqual(['runtime-long'])
      expect(reason({memory: GB, runtimeMs: 20 * MIN, command: words('python train.py')}, 'runtime-long')!.inferred).toBe(false)
    })

    it('light: false given explicitly → git status is not a lightweight check (and memory is unknown again)', () => {
      expect(codes({ui: true, light: false, command: words('git status')})).toEqual(['memory-unknown'])
    })

    it('light: true given explicitly → the lightweight reason is not inferred, and the runtime must be given', () => {
      expect(run({ui: true, light: true, command: words('git status')}).target).toBe('cloud')
      const decision = run({ui: true, light: true, runtimeMs: MIN, command: words('git status')})
      expect(decision.target).toBe('local')
      expect(decision.reasons.every((r) => !r.inferred)).toBe(true)
    })

    it('ui: false given explicitly → opening a browser is not UI-centric', () => {
      expect(inferFromCommand(words('open http://localhost:3000')).ui).toBeDefined()
      expect(route({ui: false, command: words('open http://localhost:3000')}, DEFAULT_THRESHOLDS).profile.ui).toBe(false)
      expect(route({command: words('open http://localhost:3000')}, DEFAULT_THRESHOLDS).profile).toMatchObject({ui: true, inferred: ['ui']})
    })

    it('explicit flags and inferred facts combine: --ui with an inferred light check', () => {
      expect(run({ui: true, memory: 'unknown', command: words('git status')}).target).toBe('cloud')
    })
  })
})

describe('route(): the JSON answer agents read', () => {
  it('normalises the profile next to the decision', () => {
    expect(route({runtimeMs: 15 * MIN}, DEFAULT_THRESHOLDS)).toEqual({
      target: 'cloud',
      reasons: [
        {code: 'runtime-long', message: 'runtime 15m is over 10m', inferred: false},
        {code: 'memory-unknown', message: 'memory estimate not given (unknown counts as large)', inferred: false},
      ],
      profile: {runtimeMs: 15 * MIN, memoryBytes: null, heavyLogs: false, heavy: null, parallel: 1, ui: false, light: false, agent: null, command: null, inferred: []},
    })
  })

  it('records the command text and every inferred field', () => {
    const result = route({command: ['tail', '-f', 'x.log']}, DEFAULT_THRESHOLDS)
    expect(result.profile).toMatchObject({command: 'tail -f x.log', heavyLogs: true, inferred: ['heavyLogs']})
    expect(route({memory: 'unknown', agent: ' Lens '}, DEFAULT_THRESHOLDS).profile).toMatchObject({memoryBytes: 'unknown', agent: 'Lens'})
  })

  it('is pure: the same input gives the same output, and the input is not changed', () => {
    const profile: JobProfile = Object.freeze({runtimeMs: MIN, ui: true, light: true, command: Object.freeze(['git', 'status'])})
    expect(route(profile, DEFAULT_THRESHOLDS)).toEqual(route(profile, DEFAULT_THRESHOLDS))
  })
})

describe('units', () => {
  it.each([
    ['90s', 90 * SECOND],
    ['15m', 15 * MIN],
    ['2h', 120 * MIN],
    ['1h30m', 90 * MIN],
    ['30d', 30 * 24 * 60 * MIN],
    [' 15m ', 15 * MIN],
    ['15M', 15 * MIN],
  ])('parseDuration(%j) = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['soon', '15', '', '   ', '-1m', 'm', '15 m', '1h 30m', '15min', '1x'])('parseDuration(%j) is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })

  it.each([
    ['512M', 512 * MB],
    ['12G', 12 * GB],
    ['8GB', 8 * GB],
    ['8gb', 8 * GB],
    ['8GiB', 8 * GB],
    ['1.5T', 1.5 * 1024 * GB],
    ['64K', 64 * 1024],
  ])('parseSize(%j) = %d bytes', (text, size) => {
    expect(parseSize(text)).toBe(size)
  })

  it.each(['lots', '', '12', 'unknown', '-1G', 'G', '8X'])('parseSize(%j) is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined()
  })

  it('formats durations and sizes for messages', () => {
    expect(formatDuration(15 * MIN)).toBe('15m')
    expect(formatDuration(90 * MIN)).toBe('1h30m')
    expect(formatDuration(90 * SECOND)).toBe('1m30s')
    expect(formatDuration(500)).toBe('500ms')
    expect(formatSize(8 * GB)).toBe('8GB')
    expect(formatSize(512 * MB)).toBe('512MB')
  })
})
