/**
 * `orch route` as agents and people run it: the BUILT CLI (`npm run build` first) as a child
 * process, in a temporary directory with its own HOME and no ORCH_* variable from this process.
 */
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin', 'run.js')

interface Result {
  code: number
  stdout: string
  stderr: string
}

let tmp: string
let home: string
/** cwd of every run unless a test says otherwise; a git root, so config discovery stops here. */
let work: string

beforeAll(() => {
  for (const built of ['dist/cli/dispatch.js', 'dist/commands/route.js', 'oclif.manifest.json']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` before these tests`)
  }
  tmp = mkdtempSync(join(tmpdir(), 'orch-cli-route-'))
  home = join(tmp, 'home')
  mkdirSync(home)
})

afterAll(() => {
  rmSync(tmp, {recursive: true, force: true})
})

let counter = 0
beforeEach(() => {
  work = join(tmp, `work-${++counter}`)
  mkdirSync(join(work, '.git'), {recursive: true})
})

function write(path: string, text: string): string {
  mkdirSync(dirname(path), {recursive: true})
  writeFileSync(path, text)
  return path
}

/** Runs `node bin/run.js ARGS` with only PATH, HOME and the variables given. */
function orch(args: string[], options: {env?: Record<string, string>; cwd?: string} = {}): Promise<Result> {
  const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...options.env}
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {cwd: options.cwd ?? work, env, timeout: 30_000}, (error, stdout, stderr) => {
      const raw = (error as {code?: unknown} | null)?.code
      const code = error ? (typeof raw === 'number' ? raw : -1) : 0
      resolve({code, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

function json(result: Result): {target: string; reasons: Array<{code: string; message: string; inferred: boolean}>; profile: Record<string, unknown>} {
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  const parsed = JSON.parse(result.stdout)
  expect(typeof parsed).toBe('object')
  expect(Array.isArray(parsed)).toBe(false)
  return parsed
}

/**
 * One line on stderr, the given exit status, and on stdout nothing — or, when the command line
 * asked for --json, exactly the error document {error: {code, message, hint, exitCode}}.
 */
function expectOneLineError(result: Result, code: number, asJson = false): string {
  if (asJson) {
    const doc = JSON.parse(result.stdout) as {error: Record<string, unknown>}
    expect(Object.keys(doc)).toEqual(['error'])
    expect(Object.keys(doc.error).sort()).toEqual(['code', 'exitCode', 'hint', 'message'])
    expect(doc.error.exitCode).toBe(code)
  } else {
    expect(result.stdout).toBe('')
  }
  expect(result.code).toBe(code)
  expect(result.stderr.endsWith('\n')).toBe(true)
  const lines = result.stderr.slice(0, -1).split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^orch: /)
  return lines[0]!
}

const codes = (result: Result) => json(result).reasons.map((r) => r.code)

describe('orch route: decisions', () => {
  it('--json prints exactly one JSON object with target, reasons, profile and the estimated cost (null without a price, saying why)', async () => {
    const result = await orch(['route', '--json', '--runtime', '15m'])
    const answer = json(result)
    expect(Object.keys(answer).sort()).toEqual(['estimatedCost', 'estimatedCostReason', 'profile', 'reasons', 'target'])
    expect(answer).toMatchObject({estimatedCost: null, estimatedCostReason: 'no price for the cloud host: set ORCH_HOURLY_PRICE (its price per hour)'})
    expect(answer.target).toBe('cloud')
    expect(answer.reasons).toEqual([
      {code: 'runtime-long', message: 'runtime 15m is over 10m', inferred: false},
      {code: 'memory-unknown', message: 'memory estimate not given (unknown counts as large)', inferred: false},
    ])
    expect(answer.profile).toMatchObject({runtimeMs: 900_000, memoryBytes: null, parallel: 1, command: null})
    // One document, one trailing newline, nothing else.
    expect(result.stdout.trimEnd() + '\n').toBe(result.stdout)
  })

  it('the estimated cost: ORCH_HOURLY_PRICE × --runtime, in ORCH_CURRENCY; a malformed price is a config error', async () => {
    const answer = json(await orch(['route', '--json', '--runtime', '2h30m'], {env: {ORCH_HOURLY_PRICE: '0.192', ORCH_CURRENCY: 'eur'}}))
    expect(answer).toMatchObject({estimatedCost: {amount: 0.48, currency: 'EUR', basis: 'ORCH_HOURLY_PRICE', hourlyPrice: 0.192, runtimeEstimateSeconds: 9000}, estimatedCostReason: null})
    const noRuntime = json(await orch(['route', '--json', '--heavy', 'llm'], {env: {ORCH_HOURLY_PRICE: '0.192'}}))
    expect(noRuntime).toMatchObject({estimatedCost: null, estimatedCostReason: 'no runtime estimate: give --runtime (e.g. --runtime 2h)'})
    const bad = await orch(['route', '--runtime', '1h'], {env: {ORCH_HOURLY_PRICE: 'cheap'}})
    expect(bad.code).toBe(3)
    expect(bad.stderr).toBe('orch: invalid value "cheap" for environment variable ORCH_HOURLY_PRICE — expected a decimal number of at least 0, e.g. 0.192\n')
  })

  it('a local decision', async () => {
    const answer = json(await orch(['route', '--json', '--runtime', '1m', '--ui', '--light', '--memory', '512M']))
    expect(answer.target).toBe('local')
    expect(answer).toMatchObject({estimatedCost: {amount: 0, basis: 'local'}})
    expect(answer.reasons.map((r) => r.code)).toEqual(['runtime-short', 'ui-centric', 'lightweight'])
  })

  it('human output: the target on the first line, then one line per reason', async () => {
    const cloud = await orch(['route', '--runtime', '15m'])
    expect(cloud.code).toBe(0)
    expect(cloud.stderr).toBe('')
    expect(cloud.stdout).toBe('cloud\n  - runtime 15m is over 10m\n  - memory estimate not given (unknown counts as large)\n  cost: unknown (no price for the cloud host: set ORCH_HOURLY_PRICE (its price per hour))\n')
    const priced = await orch(['route', '--runtime', '15m'], {env: {ORCH_HOURLY_PRICE: '0.192'}})
    expect(priced.stdout.split('\n').at(-2)).toBe('  cost: ~0.05 USD (0.19 USD/h × 15m, ORCH_HOURLY_PRICE)')
    const local = await orch(['route', '--agent', 'lens'])
    expect(local.stdout.split('\n')[0]).toBe('local')
    expect(local.stdout).toContain('agent lens runs locally')
  })

  it('accepts every documented form of each flag', async () => {
    const answer = json(
      await orch(['route', '--json', '--runtime', '1h30m', '--memory', '8GB', '--heavy-logs', '--heavy', 'embedding', '--parallel', '2', '--ui', '--light', '--agent', 'Builder']),
    )
    expect(answer.profile).toMatchObject({runtimeMs: 5_400_000, memoryBytes: 8 * 1024 ** 3, heavyLogs: true, heavy: 'embedding', parallel: 2, ui: true, light: true, agent: 'Builder'})
    expect(answer.reasons.map((r) => r.code)).toEqual(['runtime-long', 'heavy-logs', 'heavy-processing', 'parallel'])
    expect(json(await orch(['route', '--json', '--memory', 'unknown', '--runtime=90s'])).profile).toMatchObject({memoryBytes: 'unknown', runtimeMs: 90_000})
  })

  it('an unknown agent is not an error: it is reported in the reasons', async () => {
    const result = await orch(['route', '--json', '--agent', 'Zork', '--memory', '1G', '--runtime', '5m'])
    expect(codes(result)).toEqual(['default-cloud', 'agent-unknown'])
  })

  it('infers from the command after --, and marks it inferred', async () => {
    const answer = json(await orch(['route', '--json', '--', 'tail', '-f', '/var/log/syslog']))
    expect(answer.reasons[0]).toMatchObject({code: 'heavy-logs', inferred: true})
    expect(answer.profile).toMatchObject({command: 'tail -f /var/log/syslog', inferred: ['heavyLogs']})
    const human = await orch(['route', '--', 'tail', '-f', 'x.log'])
    expect(human.stdout.split('\n')[1]).toMatch(/\[inferred\]$/)
  })

  it('`route --json -- echo --json`: words after -- belong to the command, in order', async () => {
    const answer = json(await orch(['route', '--json', '--', 'echo', '--json']))
    expect(answer.profile.command).toBe('echo --json')
    expect(json(await orch(['route', '--json', '--', 'a', '--', 'b'])).profile.command).toBe('a -- b')
    expect(json(await orch(['route', '--json', '--', 'x', 'y', 'x'])).profile.command).toBe('x y x')
    expect(json(await orch(['route', '--json', '--agent', 'b', 'a', 'b'])).profile).toMatchObject({agent: 'b', command: 'a b'})
    // Without --json before --, the output is human text.
    const human = await orch(['route', '--', 'echo', '--json'])
    expect(human.code).toBe(0)
    expect(human.stdout.split('\n')[0]).toBe('cloud')
  })

  it('--help exits 0 and documents the profile flags', async () => {
    const result = await orch(['route', '--help'])
    expect(result.code).toBe(0)
    for (const flag of ['--runtime', '--memory', '--heavy-logs', '--heavy', '--parallel', '--ui', '--light', '--agent', '--json']) {
      expect(result.stdout).toContain(flag)
    }
  })
})

describe('orch route: bad input exits 2 with one line on stderr', () => {
  it.each([
    {args: ['--runtime', 'soon'], flag: '--runtime', form: '1h30m'},
    {args: ['--runtime', '15'], flag: '--runtime', form: '1h30m'},
    {args: ['--parallel', '-1'], flag: '--parallel', form: 'at least 1'},
    {args: ['--parallel', '0'], flag: '--parallel', form: 'at least 1'},
    {args: ['--heavy', 'gpu'], flag: '--heavy', form: 'llm, embedding, vectordb, scraping, aggregation'},
    {args: ['--memory', 'lots'], flag: '--memory', form: '512M, 12G, 8GB'},
    {args: ['--json', '--memory', 'lots'], flag: '--memory', form: '512M, 12G, 8GB'},
  ])('route $args', async ({args, flag, form}) => {
    const line = expectOneLineError(await orch(['route', ...args]), 2, args.includes('--json'))
    expect(line).toContain(flag)
    expect(line).toContain(form)
  })

  it.each([
    [['--bogus'], '--bogus'],
    [['--json', '--bogus', '--runtime', '1m'], '--bogus'],
    [['--runtime'], '--runtime'],
    [['--runtime', '15m', '--runtime', '20m'], '--runtime'],
    [['--light=false'], '--light'],
    [['--json=yes'], '--json'],
  ])('route %j', async (args, flag) => {
    const line = expectOneLineError(await orch(['route', ...args]), 2, args.some((arg) => arg.startsWith('--json')))
    expect(line).toContain(flag)
  })

  it('an unknown command exits 2 as well', async () => {
    expectOneLineError(await orch(['rout']), 2)
    expect(expectOneLineError(await orch(['rout', '--json']), 2, true)).toContain('rout')
  })
})

describe('orch route: configuration', () => {
  // --agent Lens with a 15m runtime: forced to the cloud by the default 10m threshold, local under 30m.
  const lens15 = ['route', '--json', '--runtime', '15m', '--agent', 'Lens']

  it('default thresholds: cloud', async () => {
    const answer = json(await orch(lens15))
    expect(answer.target).toBe('cloud')
    expect(answer.reasons.map((r) => r.code)).toEqual(['runtime-long', 'agent-overridden'])
  })

  it('file < environment: ORCH_CLOUD_MIN_RUNTIME from scripts/cloud/.env, overridden by the environment', async () => {
    write(join(work, 'scripts', 'cloud', '.env'), 'ORCH_CLOUD_MIN_RUNTIME=30m\n')
    const nested = join(work, 'src', 'deep')
    mkdirSync(nested, {recursive: true})

    const fromFile = json(await orch(lens15, {cwd: nested}))
    expect(fromFile.target).toBe('local')
    expect(fromFile.reasons.map((r) => r.code)).toEqual(['agent-local'])

    const fromEnv = json(await orch(lens15, {cwd: nested, env: {ORCH_CLOUD_MIN_RUNTIME: '10m'}}))
    expect(fromEnv.target).toBe('cloud')

    // The thresholds show in the messages, too.
    expect(json(await orch(['route', '--json', '--runtime', '45m'], {cwd: nested})).reasons[0]!.message).toBe('runtime 45m is over 30m')
    expect(json(await orch(['route', '--json', '--runtime', '45m'], {cwd: nested, env: {ORCH_CLOUD_MIN_RUNTIME: '40m'}})).reasons[0]!.message).toBe(
      'runtime 45m is over 40m',
    )
  })

  it('ORCH_LOCAL_MAX_RUNTIME and ORCH_CLOUD_MEMORY from the file change the decision', async () => {
    const args = ['route', '--json', '--runtime', '5m', '--memory', '12G', '--ui', '--light']
    expect(json(await orch(args)).target).toBe('cloud')
    write(join(work, 'scripts', 'cloud', '.env'), 'ORCH_LOCAL_MAX_RUNTIME=6m\nORCH_CLOUD_MEMORY=16G\n')
    expect(json(await orch(args)).target).toBe('local')
  })

  it('a file above the git root is not read', async () => {
    const outer = join(tmp, `outer-${counter}`)
    write(join(outer, 'scripts', 'cloud', '.env'), 'ORCH_CLOUD_MIN_RUNTIME=30m\n')
    const repo = join(outer, 'repo')
    mkdirSync(join(repo, '.git'), {recursive: true})
    expect(json(await orch(lens15, {cwd: repo})).target).toBe('cloud')
  })

  it('ORCH_CONFIG names the file', async () => {
    const file = write(join(tmp, `named-${counter}.env`), 'ORCH_CLOUD_MIN_RUNTIME=30m\n')
    expect(json(await orch(lens15, {env: {ORCH_CONFIG: file}})).target).toBe('local')
  })

  it('a malformed threshold in the file exits 3, naming the variable, the file and the accepted form', async () => {
    const file = write(join(work, 'scripts', 'cloud', '.env'), 'ORCH_CLOUD_MIN_RUNTIME=soon\n')
    for (const args of [lens15, ['route', '--runtime', '15m']]) {
      const line = expectOneLineError(await orch(args), 3, args.includes('--json'))
      expect(line).toContain('ORCH_CLOUD_MIN_RUNTIME')
      expect(line).toContain(file)
      expect(line).toContain('1h30m')
    }
    // The environment's value wins, so the file's malformed one is never read.
    expect(json(await orch(lens15, {env: {ORCH_CLOUD_MIN_RUNTIME: '30m'}})).target).toBe('local')
  })

  it('a malformed threshold in the environment exits 3, naming the variable', async () => {
    const line = expectOneLineError(await orch(lens15, {env: {ORCH_CLOUD_MEMORY: 'lots'}}), 3, true)
    expect(line).toContain('environment variable ORCH_CLOUD_MEMORY')
  })

  it('bad flag values are reported before the configuration is read', async () => {
    write(join(work, 'scripts', 'cloud', '.env'), 'ORCH_CLOUD_MIN_RUNTIME=soon\n')
    expectOneLineError(await orch(['route', '--runtime', 'soon']), 2)
  })

  it('secrets in the file never reach the output', async () => {
    const webhook = 'https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX'
    const passphrase = 'correct-horse-battery-staple'
    write(join(work, 'scripts', 'cloud', '.env'), `ORCH_SLACK_WEBHOOK_URL=${webhook}\nORCH_SSH_PASSPHRASE=${passphrase}\nORCH_CLOUD_MEMORY=${passphrase}\n`)
    const result = await orch(lens15)
    expectOneLineError(result, 3, true)
    expect(result.stderr).not.toContain('XXXXsecretXXXX')
    expect(result.stdout).not.toContain('XXXXsecretXXXX')
    expect(result.stdout).not.toContain(passphrase)
    write(join(work, 'scripts', 'cloud', '.env'), `ORCH_SLACK_WEBHOOK_URL=${webhook}\nORCH_SSH_PASSPHRASE=${passphrase}\n`)
    const ok = await orch(lens15)
    expect(ok.code).toBe(0)
    expect(ok.stdout + ok.stderr).not.toContain('XXXXsecretXXXX')
    expect(ok.stdout + ok.stderr).not.toContain(passphrase)
  })
})

describe('orch route: the fast path and the oclif path print the same', () => {
  const ARGUMENT_LISTS: string[][] = [
    ['route', '--json', '--runtime', '15m'],
    ['route', '--runtime', '15m'],
    ['route'],
    ['route', '--json'],
    ['route', '--runtime=1m', '--ui', '--light', '--memory=512M'],
    ['route', '--json', '--runtime', '1m', '--ui', '--light', '--memory', '512M'],
    ['route', '--json', '--heavy', 'LLM', '--parallel', '3', '--heavy-logs', '--agent', 'rally'],
    ['route', '--agent', 'Lens', '--runtime', '5m'],
    ['route', '--json', '--agent', 'Zork'],
    ['route', '--agent', ''],
    ['route', '--json', '--memory', 'unknown', '--light'],
    ['route', '--json', '--', 'echo', '--json'],
    ['route', '--', 'tail', '-f', 'x.log'],
    ['route', '--json', '--', 'a', '--', 'b'],
    ['route', 'git', 'status'],
    ['route', '--json', '--ui', '--', 'git', 'status'],
    ['route', '--json', '--', 'python', 'train.py', '--epochs', '3'],
    ['route', '--json', '--', 'ls', '|', 'xargs', 'rm'],
    ['route', '--runtime', 'soon'],
    ['route', '--json', '--runtime', 'soon'],
    ['route', '--parallel', '-1'],
    ['route', '--parallel=-1'],
    ['route', '--heavy', 'gpu'],
    ['route', '--memory', 'lots'],
    ['route', '--bogus'],
    ['route', '--json', '--bogus'],
    ['route', '-x'],
    ['route', '--runtime'],
    ['route', '--runtime', '--json'],
    ['route', '--runtime', '15m', '--runtime', '20m'],
    ['route', '--light=false', '--ui', '--runtime', '1m'],
    ['route', '--json=1'],
    ['route', '--help'],
  ]

  const same = async (args: string[], options: {env?: Record<string, string>; cwd?: string} = {}) => {
    const [fast, oclif] = await Promise.all([orch(args, options), orch(args, {...options, env: {...options.env, ORCH_NO_FAST_PATH: '1'}})])
    expect(fast).toEqual(oclif)
    return fast
  }

  it.each(ARGUMENT_LISTS.map((args) => [args.join(' ')]))('orch %s', async (joined) => {
    const args = ARGUMENT_LISTS.find((list) => list.join(' ') === joined)!
    await same(args)
  })

  it('the same with colours forced on', async () => {
    for (const args of [['route', '--runtime', '15m'], ['route', '--json', '--runtime', '15m'], ['route', '--heavy', 'gpu']]) {
      const result = await same(args, {env: {FORCE_COLOR: '1'}})
      expect(result.stdout + result.stderr).not.toBe('')
    }
  })

  it('the same for configuration: a threshold from the file, and a malformed one', async () => {
    write(join(work, 'scripts', 'cloud', '.env'), 'ORCH_CLOUD_MIN_RUNTIME=30m\n')
    expect(json(await same(['route', '--json', '--runtime', '15m', '--agent', 'Lens'])).target).toBe('local')
    write(join(work, 'scripts', 'cloud', '.env'), 'ORCH_CLOUD_MIN_RUNTIME=soon\n')
    expect((await same(['route', '--json', '--runtime', '15m'])).code).toBe(3)
    expect((await same(['route', '--runtime', '15m'], {env: {ORCH_CLOUD_MEMORY: 'lots'}})).code).toBe(3)
  })

  it('the fast path really skips oclif (and neither path loads the AWS SDK or ssh2)', async () => {
    const trace = write(
      join(tmp, 'trace', 'hooks.mjs'),
      `import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.ORCH_TEST_TRACE, result.url + '\\n')
  return result
}
`,
    )
    const register = write(
      join(tmp, 'trace', 'register.mjs'),
      `import {register, createRequire} from 'node:module'
import {appendFileSync} from 'node:fs'
register(${JSON.stringify(new URL(`file://${trace}`).href)})
const cache = createRequire(import.meta.url).cache
process.on('exit', () => appendFileSync(process.env.ORCH_TEST_TRACE, Object.keys(cache).join('\\n') + '\\n'))
`,
    )
    const loaded = async (extra: Record<string, string>) => {
      const out = join(tmp, 'trace', `loaded-${Math.random().toString(36).slice(2)}.txt`)
      writeFileSync(out, '')
      const result = await orch(['route', '--json', '--runtime', '15m'], {env: {NODE_OPTIONS: `--import ${register}`, ORCH_TEST_TRACE: out, ...extra}})
      expect(result.code).toBe(0)
      return readFileSync(out, 'utf8')
    }
    const fast = await loaded({})
    expect(fast).toContain('/dist/fast/commands/route.cjs')
    expect(fast).not.toContain('/dist/cli/')
    expect(fast).not.toContain('@oclif/core')
    expect(fast).not.toContain('@aws-sdk')
    expect(fast).not.toContain('/ssh2/')
    const slow = await loaded({ORCH_NO_FAST_PATH: '1'})
    expect(slow).toContain('@oclif/core')
    expect(slow).not.toContain('@aws-sdk')
    expect(slow).not.toContain('/ssh2/')
  })
})
