import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {findConfigFile, loadConfig} from '../../../src/config/config.js'
import {SECRET_SETTINGS, SETTINGS} from '../../../src/config/settings.js'
import {OrchError} from '../../../src/errors/errors.js'

const MIN = 60_000
const GB = 1024 ** 3
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

let tmp: string
let home: string

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'orch-config-'))
  home = join(tmp, 'home')
  mkdirSync(home)
})

afterEach(() => {
  rmSync(tmp, {recursive: true, force: true})
})

/** Only what a test gives: never the real environment or the real home. */
const envWith = (vars: Record<string, string> = {}): NodeJS.ProcessEnv => ({HOME: home, USER: 'tester', ...vars})

function write(path: string, text: string): string {
  mkdirSync(dirname(path), {recursive: true})
  writeFileSync(path, text)
  return path
}

/** tmp/outer/repo is a git repository (tmp/outer is not); returns paths in it. */
function layout() {
  const outer = join(tmp, 'outer')
  const repo = join(outer, 'repo')
  mkdirSync(join(repo, '.git'), {recursive: true})
  const nested = join(repo, 'a', 'b', 'c')
  mkdirSync(nested, {recursive: true})
  return {outer, repo, nested, repoFile: join(repo, 'scripts', 'cloud', '.env'), outerFile: join(outer, 'scripts', 'cloud', '.env')}
}

function catchError(fn: () => unknown): OrchError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError)
    return error as OrchError
  }
  throw new Error('expected an error')
}

describe('config file discovery', () => {
  it('finds scripts/cloud/.env at the git root from a nested directory', () => {
    const {nested, repoFile} = layout()
    write(repoFile, 'ORCH_HOST=from-repo\n')
    const config = loadConfig({cwd: nested, env: envWith()})
    expect(config.file).toBe(repoFile)
    expect(config.host).toBe('from-repo')
    expect(config.sources.ORCH_HOST).toEqual({kind: 'file', path: repoFile})
  })

  it('the nearest scripts/cloud/.env wins', () => {
    const {repo, nested, repoFile} = layout()
    write(repoFile, 'ORCH_HOST=from-repo\n')
    const nearer = write(join(repo, 'a', 'scripts', 'cloud', '.env'), 'ORCH_HOST=from-a\n')
    expect(loadConfig({cwd: nested, env: envWith()})).toMatchObject({file: nearer, host: 'from-a'})
  })

  it('does not look beyond the git root', () => {
    const {nested, outerFile} = layout()
    write(outerFile, 'ORCH_HOST=from-outside\n')
    const config = loadConfig({cwd: nested, env: envWith()})
    expect(config.file).toBeUndefined()
    expect(config.host).toBeUndefined()
    expect(findConfigFile(nested, envWith())).toBeUndefined()
  })

  it('a .git file (worktree, submodule) also marks the git root', () => {
    const outer = join(tmp, 'outer')
    const repo = join(outer, 'worktree')
    write(join(repo, '.git'), 'gitdir: /elsewhere\n')
    write(join(outer, 'scripts', 'cloud', '.env'), 'ORCH_HOST=from-outside\n')
    expect(findConfigFile(join(repo), envWith())).toBeUndefined()
  })

  it('outside a git repository, keeps walking up to the first file found', () => {
    const outer = join(tmp, 'plain')
    const file = write(join(outer, 'scripts', 'cloud', '.env'), 'ORCH_HOST=plain\n')
    mkdirSync(join(outer, 'x', 'y'), {recursive: true})
    expect(findConfigFile(join(outer, 'x', 'y'), envWith())).toBe(file)
  })

  it('no file: every setting has its default', () => {
    const {repo} = layout()
    const config = loadConfig({cwd: repo, env: envWith()})
    expect(config.file).toBeUndefined()
    expect(config).toMatchObject({
      port: 22,
      user: 'tester',
      acceptNewHostKey: false,
      knownHosts: join(home, '.ssh', 'known_hosts'),
      // The host's log root stays as written: ~ is the remote home.
      logRoot: '~/logs',
      cloudwatchGroup: '/orch/jobs',
      cloudwatch: 'flag',
      notify: 'off',
      maxParallel: 4,
      logRetentionDays: 30,
      thresholds: {localMaxRuntimeMs: 3 * MIN, cloudMinRuntimeMs: 10 * MIN, cloudMemoryBytes: 8 * GB},
    })
    expect(config.sources.ORCH_PORT).toEqual({kind: 'default'})
  })

  describe('ORCH_CONFIG', () => {
    it('names the file, instead of discovery', () => {
      const {nested, repoFile} = layout()
      write(repoFile, 'ORCH_HOST=from-repo\n')
      const named = write(join(tmp, 'elsewhere', 'orch.env'), 'ORCH_HOST=from-named\n')
      expect(loadConfig({cwd: nested, env: envWith({ORCH_CONFIG: named})})).toMatchObject({file: named, host: 'from-named'})
    })

    it('a relative path is relative to the current directory; ~/ is the home directory', () => {
      const {repo} = layout()
      const relative = write(join(repo, 'conf', 'orch.env'), 'ORCH_HOST=relative\n')
      expect(loadConfig({cwd: repo, env: envWith({ORCH_CONFIG: 'conf/orch.env'})})).toMatchObject({file: relative, host: 'relative'})
      const inHome = write(join(home, 'orch.env'), 'ORCH_HOST=home\n')
      expect(loadConfig({cwd: repo, env: envWith({ORCH_CONFIG: '~/orch.env'})})).toMatchObject({file: inHome, host: 'home'})
    })

    it('a missing named file is a config error that names it', () => {
      const {repo} = layout()
      const missing = join(tmp, 'nope.env')
      const error = catchError(() => loadConfig({cwd: repo, env: envWith({ORCH_CONFIG: missing})}))
      expect(error.kind).toBe('config')
      expect(error.exitCode).toBe(3)
      expect(error.toLine()).toContain('ORCH_CONFIG')
      expect(error.toLine()).toContain(missing)
    })
  })
})

describe('precedence: file < environment < flag', () => {
  it('each level overrides the one below, and sources say where each value came from', () => {
    const {repo, repoFile} = layout()
    write(repoFile, 'ORCH_PORT=2200\nORCH_HOST=file-host\nORCH_USER=file-user\nORCH_CLOUD_MIN_RUNTIME=30m\n')
    const fileOnly = loadConfig({cwd: repo, env: envWith()})
    expect(fileOnly).toMatchObject({port: 2200, host: 'file-host', user: 'file-user', thresholds: {cloudMinRuntimeMs: 30 * MIN}})

    const env = envWith({ORCH_PORT: '2201', ORCH_HOST: 'env-host', ORCH_CLOUD_MIN_RUNTIME: '20m'})
    const withEnv = loadConfig({cwd: repo, env})
    expect(withEnv).toMatchObject({port: 2201, host: 'env-host', user: 'file-user', thresholds: {cloudMinRuntimeMs: 20 * MIN}})
    expect(withEnv.sources).toMatchObject({ORCH_PORT: {kind: 'env'}, ORCH_USER: {kind: 'file', path: repoFile}})

    const withFlag = loadConfig({cwd: repo, env, flags: {ORCH_PORT: '2202', ORCH_HOST: undefined}, flagNames: {ORCH_PORT: '--port'}})
    expect(withFlag).toMatchObject({port: 2202, host: 'env-host', user: 'file-user'})
    expect(withFlag.sources.ORCH_PORT).toEqual({kind: 'flag', flag: '--port'})
  })

  it('an empty environment variable does not hide the file value', () => {
    const {repo, repoFile} = layout()
    write(repoFile, 'ORCH_CLOUD_MEMORY=16G\n')
    expect(loadConfig({cwd: repo, env: envWith({ORCH_CLOUD_MEMORY: ''})}).thresholds.cloudMemoryBytes).toBe(16 * GB)
  })

  it('routing thresholds come from every level', () => {
    const {repo, repoFile} = layout()
    write(repoFile, 'ORCH_LOCAL_MAX_RUNTIME=5m\nORCH_CLOUD_MIN_RUNTIME=1h\nORCH_CLOUD_MEMORY=16GB\n')
    expect(loadConfig({cwd: repo, env: envWith()}).thresholds).toEqual({localMaxRuntimeMs: 5 * MIN, cloudMinRuntimeMs: 60 * MIN, cloudMemoryBytes: 16 * GB})
    expect(loadConfig({cwd: repo, env: envWith({ORCH_CLOUD_MEMORY: '4G'}), flags: {ORCH_LOCAL_MAX_RUNTIME: '90s'}}).thresholds).toEqual({
      localMaxRuntimeMs: 90_000,
      cloudMinRuntimeMs: 60 * MIN,
      cloudMemoryBytes: 4 * GB,
    })
  })

  it('parses every kind of setting from the file', () => {
    const {repo, repoFile} = layout()
    write(
      repoFile,
      [
        'ORCH_ACCEPT_NEW_HOST_KEY=yes',
        'ORCH_EC2_TAG=Name=orch-host',
        'ORCH_CLOUDWATCH=Always',
        'ORCH_MAX_PARALLEL=8',
        'ORCH_MAX_LOG_SIZE=512M',
        'ORCH_SSH_KEY=~/.ssh/orch',
        '# a comment',
        'AWS_REGION="eu-west-1"',
      ].join('\n'),
    )
    expect(loadConfig({cwd: repo, env: envWith()})).toMatchObject({
      acceptNewHostKey: true,
      ec2Tag: {key: 'Name', value: 'orch-host'},
      cloudwatch: 'always',
      maxParallel: 8,
      maxLogSize: 512 * 1024 ** 2,
      sshKey: join(home, '.ssh', 'orch'),
      region: 'eu-west-1',
    })
  })
})

describe('malformed values', () => {
  const cases: Array<{variable: string; value: string; form: string}> = [
    {variable: 'ORCH_PORT', value: 'abc', form: 'a port number from 1 to 65535'},
    {variable: 'ORCH_PORT', value: '70000', form: 'a port number from 1 to 65535'},
    {variable: 'ORCH_ACCEPT_NEW_HOST_KEY', value: 'maybe', form: '1, 0, true, false, yes or no'},
    {variable: 'ORCH_MAX_PARALLEL', value: '0', form: 'a whole number of at least 1'},
    {variable: 'ORCH_LOG_RETENTION_DAYS', value: 'month', form: 'a whole number of at least 1'},
    {variable: 'ORCH_EC2_TAG', value: 'orch-host', form: 'key=value'},
    {variable: 'ORCH_CLOUDWATCH', value: 'sometimes', form: 'one of always, never, flag'},
    {variable: 'ORCH_NOTIFY', value: 'email', form: 'one of slack, stdout, off'},
    {variable: 'ORCH_MAX_LOG_SIZE', value: 'huge', form: '512M, 12G, 8GB'},
    {variable: 'ORCH_LOCAL_MAX_RUNTIME', value: '3', form: '90s, 15m, 2h, 1h30m'},
    {variable: 'ORCH_CLOUD_MIN_RUNTIME', value: 'soon', form: '90s, 15m, 2h, 1h30m'},
    {variable: 'ORCH_CLOUD_MEMORY', value: 'lots', form: '512M, 12G, 8GB'},
  ]

  it.each(cases)('$variable=$value in the file: config error naming the variable, the file and the accepted form', ({variable, value, form}) => {
    const {nested, repoFile} = layout()
    write(repoFile, `ORCH_HOST=ok\n${variable}=${value}\n`)
    const error = catchError(() => loadConfig({cwd: nested, env: envWith()}))
    expect(error.kind).toBe('config')
    expect(error.exitCode).toBe(3)
    const line = error.toLine()
    expect(line).toContain(variable)
    expect(line).toContain(repoFile)
    expect(line).toContain(form)
    expect(line).toContain(`"${value}"`)
    expect(line.split('\n')).toHaveLength(1)
  })

  it('from the environment: names the environment variable', () => {
    const {repo} = layout()
    const error = catchError(() => loadConfig({cwd: repo, env: envWith({ORCH_CLOUD_MEMORY: 'lots'})}))
    expect(error.kind).toBe('config')
    expect(error.toLine()).toContain('environment variable ORCH_CLOUD_MEMORY')
    expect(error.toLine()).toContain('8GB')
  })

  it('from a flag: names the flag', () => {
    const {repo} = layout()
    const error = catchError(() => loadConfig({cwd: repo, env: envWith(), flags: {ORCH_PORT: 'x'}, flagNames: {ORCH_PORT: '--port'}}))
    expect(error.kind).toBe('config')
    expect(error.toLine()).toContain('--port')
  })

  it('a malformed value the environment overrides is not an error (only the winning value is read)', () => {
    const {repo, repoFile} = layout()
    write(repoFile, 'ORCH_PORT=abc\n')
    expect(loadConfig({cwd: repo, env: envWith({ORCH_PORT: '2222'})}).port).toBe(2222)
  })
})

describe('secrets', () => {
  const WEBHOOK = 'https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX'
  const PASSPHRASE = 'correct-horse-battery-staple'

  it('the webhook URL and the key passphrase are the secret settings', () => {
    expect([...SECRET_SETTINGS].sort()).toEqual(['ORCH_SLACK_WEBHOOK_URL', 'ORCH_SSH_PASSPHRASE'])
  })

  it('secret values are loaded, whatever they look like', () => {
    const {repo, repoFile} = layout()
    write(repoFile, `ORCH_SLACK_WEBHOOK_URL=${WEBHOOK}\nORCH_SSH_PASSPHRASE="not a url; {} $x"\n`)
    const config = loadConfig({cwd: repo, env: envWith()})
    expect(config.slackWebhookUrl).toBe(WEBHOOK)
    expect(config.sshPassphrase).toBe('not a url; {} $x')
  })

  it('never appear in an error about another setting (file or environment)', () => {
    const {repo, repoFile} = layout()
    write(repoFile, `ORCH_SLACK_WEBHOOK_URL=${WEBHOOK}\nORCH_SSH_PASSPHRASE=${PASSPHRASE}\nORCH_PORT=${PASSPHRASE}x\n`)
    for (const env of [envWith(), envWith({ORCH_SLACK_WEBHOOK_URL: WEBHOOK, ORCH_SSH_PASSPHRASE: PASSPHRASE, ORCH_CLOUD_MEMORY: 'lots'})]) {
      const error = catchError(() => loadConfig({cwd: repo, env}))
      const everything = `${error.toLine()}\n${error.message}\n${error.hint ?? ''}\n${error.stack ?? ''}`
      expect(everything).not.toContain(WEBHOOK)
      expect(everything).not.toContain('XXXXsecretXXXX')
    }
  })

  // Both secrets are free text today, so nothing can be malformed about them; if one ever gains a
  // checked form (a URL, say), its value must still stay out of the message.
  it('a malformed secret is named, but its value is never shown', async () => {
    vi.resetModules()
    vi.doMock('../../../src/config/settings.js', async (importOriginal) => {
      const actual = await importOriginal<typeof import('../../../src/config/settings.js')>()
      return {
        ...actual,
        SETTINGS: actual.SETTINGS.map((spec) => (spec.variable === 'ORCH_SLACK_WEBHOOK_URL' || spec.variable === 'ORCH_SSH_PASSPHRASE' ? {...spec, kind: 'port'} : spec)),
      }
    })
    try {
      const {loadConfig: loadWithCheckedSecrets} = await import('../../../src/config/config.js')
      const {repo, repoFile} = layout()
      for (const [variable, value] of [
        ['ORCH_SLACK_WEBHOOK_URL', WEBHOOK],
        ['ORCH_SSH_PASSPHRASE', PASSPHRASE],
      ] as const) {
        write(repoFile, `${variable}=${value}\n`)
        let caught: Error | undefined
        try {
          loadWithCheckedSecrets({cwd: repo, env: envWith()})
        } catch (error) {
          caught = error as Error
        }
        expect(caught?.name).toBe('OrchError')
        const line = (caught as OrchError).toLine()
        expect(line).toContain(variable)
        expect(line).toContain(repoFile)
        expect(line).not.toContain(value)
        expect(caught!.stack ?? '').not.toContain(value)
        // From the environment too.
        write(repoFile, '')
        try {
          loadWithCheckedSecrets({cwd: repo, env: envWith({[variable]: value})})
          caught = undefined
        } catch (error) {
          caught = error as Error
        }
        expect((caught as OrchError).toLine()).toContain(variable)
        expect((caught as OrchError).toLine()).not.toContain(value)
      }
    } finally {
      vi.doUnmock('../../../src/config/settings.js')
      vi.resetModules()
    }
  })
})

describe('.env.example', () => {
  const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')
  const lines = example.split('\n')

  it.each(SETTINGS.map((s) => [s.variable, s] as const))('documents %s, commented out, with its default and description', (variable, spec) => {
    const index = lines.findIndex((line) => line.startsWith(`# ${variable}=`))
    expect(index, `no "# ${variable}=" line`).toBeGreaterThanOrEqual(0)
    expect(lines[index]).toBe(`# ${variable}=${'defaultValue' in spec ? spec.defaultValue : ''}`)
    // The description is on the comment lines just above.
    const above: string[] = []
    for (let i = index - 1; i >= 0 && lines[i]!.startsWith('# ') && !/^# [A-Z_]+=/.test(lines[i]!); i--) above.unshift(lines[i]!.slice(2))
    expect(above.join(' ')).toContain(spec.description)
  })

  it('sets nothing: every assignment is commented out', () => {
    expect(lines.filter((line) => /^\s*[A-Za-z_]+\s*=/.test(line))).toEqual([])
  })

  it('names no variable that is not a setting', () => {
    const named = lines.flatMap((line) => /^# ([A-Z][A-Z0-9_]+)=/.exec(line)?.[1] ?? [])
    expect(named.sort()).toEqual(SETTINGS.map((s) => s.variable).sort())
  })

  it('uncommented as it stands, it is a valid configuration equal to the defaults', () => {
    const {repo, repoFile} = layout()
    write(repoFile, lines.map((line) => (/^# [A-Z][A-Z0-9_]+=/.test(line) ? line.slice(2) : line)).join('\n'))
    const fromExample = loadConfig({cwd: repo, env: envWith()})
    expect(fromExample.file).toBe(repoFile)
    rmSync(repoFile)
    const {file: _file, sources: _s1, ...defaults} = loadConfig({cwd: repo, env: envWith()})
    const {file: _f2, sources: _s2, ...example} = fromExample
    expect(example).toEqual(defaults)
  })
})
