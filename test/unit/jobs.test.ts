import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHmac, randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {fingerprint, judgeHostKey, parseKnownHosts, preferredHostKeyAlgorithms} from '../../src/hosts/known-hosts.js'
import {LocalHost} from '../../src/hosts/local-host.js'
import {shellCommand, shellWord} from '../../src/hosts/shell-words.js'
import {readLog} from '../../src/jobs/follow-log.js'
import {parseJobList} from '../../src/jobs/job-record.js'
import {JobSite} from '../../src/jobs/site.js'
import {isJobName, stampJobName, validateJobName} from '../../src/jobs/names.js'
import {commandText, parseEnvPairs} from '../../src/jobs/start-job.js'
import {isFinished} from '../../src/jobs/state.js'
import {EXIT_CODES, EXIT_CODE_DESCRIPTIONS, OrchError} from '../../src/errors/errors.js'

describe('job list parsing', () => {
  const site = {target: 'cloud' as const, label: 'u@h', logPath: (name: string) => `~/logs/${name}/run.log`}
  const meta = (name: string, createdAt: string) => JSON.stringify({name, command: 'echo a:b\tc', target: 'cloud', host: 'u@h', createdAt, cwd: null, envNames: []})
  const record = (...fields: string[]) => ['J', ...fields].join('\t')

  it('reads the host records of many jobs, newest first, with queue positions, attempts and reasons', () => {
    const output = [
      record('a', 'DONE', '0', '-', '1767225600', '1767225660', '2', '-', '-', 'orch', '1767225599', meta('a', '2026-01-01T00:00:00Z')),
      record('b', 'QUEUED', '-', '-', '-', '-', '0', '1', '77', 'orch', '-', meta('b', '2026-01-02T00:00:00Z')),
      record('c', 'FAILED', '-', 'vanished', '1767225500', '-', '1', '-', '-', 'orch', '-', meta('c', '2025-12-31T00:00:00Z')),
      record('by-hand', 'DONE', '0', '-', '-', '1767000000', '-', '-', '-', 'manual', '1767000000', '-'),
      record('bad.name', 'DONE', '0', '-', '-', '-', '0', '-', '-', 'orch', '-', meta('bad.name', '2026-01-03T00:00:00Z')),
      record('broken-meta', 'RUNNING', '-', '-', '1767225700', '-', '1', '-', '12', 'orch', '-', '{"name":"broken-meta","command":"a\\'),
      'a stray line from a login shell',
    ].join('\n')
    const jobs = parseJobList(output, site)
    expect(jobs.map((job) => [job.name, job.state, job.exitCode, job.reason, job.attempts, job.queuePosition])).toEqual([
      ['b', 'QUEUED', null, null, 0, 1],
      ['broken-meta', 'RUNNING', null, null, 1, null],
      ['a', 'DONE', 0, null, 2, null],
      ['c', 'FAILED', null, 'vanished', 1, null],
      ['by-hand', 'DONE', 0, null, 0, null],
    ])
    expect(jobs.find((job) => job.name === 'a')).toMatchObject({command: 'echo a:b\tc', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z', logPath: '~/logs/a/run.log', kind: 'orch'})
    expect(jobs.find((job) => job.name === 'by-hand')).toMatchObject({command: '', host: 'u@h', kind: 'manual', createdAt: '2025-12-29T09:20:00.000Z'})
    expect(jobs.find((job) => job.name === 'c')?.status).toEqual({state: 'FAILED', exitCode: null, vanished: true})
    expect(isFinished(jobs.find((job) => job.name === 'c')!.status)).toBe(true)
  })
})

describe('job names', () => {
  it.each(['my-job', 'lros-backfill-20260216-1430', 'A', '9_x', 'a'.repeat(64)])('accepts %s', (name) => expect(isJobName(name)).toBe(true))
  it.each(['', 'a.b', 'a:b', 'a/b', 'a b', '-a', '_a', 'a;b', '$a', 'a'.repeat(65), 'jöb', 'a\nb'])('refuses %j', (name) => {
    let error: unknown
    try {
      validateJobName(name)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(OrchError)
    expect((error as OrchError).kind).toBe('usage')
    expect((error as OrchError).toLine()).toMatch(/letters, digits, - and _, starting with a letter or digit, at most 64/)
  })
  it('stamps names with local time', () => expect(stampJobName('lros-backfill', new Date(2026, 1, 16, 14, 30))).toBe('lros-backfill-20260216-1430'))
})

describe('command text', () => {
  it('keeps one argument as a script and several as exact words', () => {
    expect(commandText(['make && ./deploy | tee "out"'])).toBe('make && ./deploy | tee "out"')
    const text = commandText(['printf', '%s\\n', 'a b', "c'd", '$HOME'])
    expect(execFileSync('sh', ['-c', text]).toString()).toBe("a b\nc'd\n$HOME\n")
    expect(() => commandText([])).toThrow(/no command/)
  })
  it('validates --env names', () => {
    expect(parseEnvPairs(['A=1', 'B_2=x=y', 'C='])).toEqual({A: '1', B_2: 'x=y', C: ''})
    expect(() => parseEnvPairs(['1A=x'])).toThrow(OrchError)
    expect(() => parseEnvPairs(['noequals'])).toThrow(OrchError)
  })
})

describe('shell words', () => {
  it('survive a POSIX shell byte for byte', () => {
    const words = ['plain', 'a b', "it's", '"q"', '$HOME', '`x`', 'a\nb', '\t', '日本語 🚀', '-n', '', '\\', '!', '%s']
    const out = execFileSync('sh', ['-c', `for w in ${words.map(shellWord).join(' ')}; do printf '[%s]' "$w"; done`]).toString()
    expect(out).toBe(words.map((w) => `[${w}]`).join(''))
    expect(shellCommand(['sh', '-c', 'echo ok'])).toBe("sh -c 'echo ok'")
  })
})

describe('known_hosts', () => {
  const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)])
  const other = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)])
  const line = (hosts: string, blob = key) => `${hosts} ssh-ed25519 ${blob.toString('base64')}`

  it('matches plain, [host]:port, pattern and hashed entries', () => {
    expect(judgeHostKey(parseKnownHosts(line('example.com'), 'example.com', 22), key)).toEqual({status: 'known'})
    expect(judgeHostKey(parseKnownHosts(line('[10.0.0.1]:2222'), '10.0.0.1', 2222), key)).toEqual({status: 'known'})
    expect(parseKnownHosts(line('[10.0.0.1]:2222'), '10.0.0.1', 22)).toEqual([])
    expect(judgeHostKey(parseKnownHosts(line('*.example.com,!bad.example.com'), 'a.example.com', 22), key)).toEqual({status: 'known'})
    expect(parseKnownHosts(line('*.example.com,!bad.example.com'), 'bad.example.com', 22)).toEqual([])
    const salt = randomBytes(20)
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[127.0.0.1]:2200').digest('base64')}`
    expect(judgeHostKey(parseKnownHosts(line(hashed), '127.0.0.1', 2200), key)).toEqual({status: 'known'})
  })

  it('tells unknown from changed and revoked keys, with the SHA256 fingerprint', () => {
    const unknown = judgeHostKey([], key)
    expect(unknown).toEqual({status: 'unknown', keyType: 'ssh-ed25519', fingerprint: fingerprint(key)})
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(judgeHostKey(parseKnownHosts(line('h', other), 'h', 22), key).status).toBe('changed')
    expect(judgeHostKey(parseKnownHosts(`@revoked ${line('h')}`, 'h', 22), key).status).toBe('revoked')
    expect(preferredHostKeyAlgorithms(parseKnownHosts(line('h'), 'h', 22))).toEqual(['ssh-ed25519'])
  })
})

describe('exit codes', () => {
  it('has one description per code and distinct codes', () => {
    expect(Object.keys(EXIT_CODE_DESCRIPTIONS).sort()).toEqual(Object.keys(EXIT_CODES).sort())
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.values(EXIT_CODES).length)
    expect(new OrchError('notFound', 'no job', 'see orch list').toLine()).toBe('no job — see orch list')
  })

  it('the --json error document has exactly code, message, hint (null when none) and exitCode', () => {
    expect(new OrchError('notFound', 'no job', 'see orch list').toDocument()).toEqual({error: {code: 'notFound', message: 'no job', hint: 'see orch list', exitCode: 4}})
    expect(new OrchError('conflict', 'in use').toDocument()).toEqual({error: {code: 'conflict', message: 'in use', hint: null, exitCode: 5}})
    expect(new OrchError('usage', 'a secret here', 'and here').toDocument((text) => text.replace('secret', '[redacted]')).error).toMatchObject({message: 'a [redacted] here'})
  })

  it('the README lists every error code with its exit status', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    for (const [code, exit] of Object.entries(EXIT_CODES)) {
      if (code === 'ok') continue
      expect(readme).toContain(`| ${exit} | \`${code}\` |`)
    }
  })
})

describe('following a finished log on this machine', () => {
  const makeJob = (cloudwatch: boolean) => {
    const root = mkdtempSync(join(tmpdir(), 'orch-follow-'))
    mkdirSync(join(root, 'j1'))
    writeFileSync(join(root, 'j1', 'meta.json'), `${JSON.stringify({name: 'j1', command: 'true', target: 'local', host: 'local', createdAt: new Date().toISOString(), cwd: null, envNames: [], cloudwatch})}\n`)
    writeFileSync(join(root, 'j1', 'run.log'), 'one\ntwo\n[EXIT: 3]\n')
    writeFileSync(join(root, 'j1', 'exit'), '3\n')
    return new JobSite(new LocalHost(), root)
  }

  it.each([true, false])('reports the exit status, and whether to ship to CloudWatch (%s), in the same round trip', async (cloudwatch) => {
    const chunks: Buffer[] = []
    const result = await readLog(makeJob(cloudwatch), 'j1', {follow: true, write: (chunk) => void chunks.push(chunk)})
    expect(Buffer.concat(chunks).toString()).toBe('one\ntwo\n[EXIT: 3]\n')
    expect(result).toMatchObject({exitCode: 3, vanished: false, shipToCloudWatch: cloudwatch})
  })

  it('refuses an unknown job', async () => {
    await expect(readLog(makeJob(false), 'nope', {follow: true, write: () => {}})).rejects.toMatchObject({kind: 'notFound'})
  })
})
