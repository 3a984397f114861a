import {describe, expect, it} from 'vitest'

import {DEFAULT_THRESHOLDS} from '../../../src/routing/decide.js'
import {inferFromCommand} from '../../../src/routing/inference.js'
import type {JobProfile, ReasonCode} from '../../../src/routing/profile.js'
import {route} from '../../../src/routing/route.js'

import {GB, MIN, NEUTRAL, codes, reason, run} from './decisions.js'

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
