/**
 * The POSIX sh scripts that run on the host (scripts/cloud/): log retention,
 * idle auto-stop, the crontab line manager and bootstrap.
 *
 * Each script runs under every shell found here: dash, bash, and busybox sh
 * with busybox's own find/du/tail/awk/sed/... first on PATH. Everything lives in
 * fresh temp dirs: HOME, the log root, the state file, the tmux socket dir
 * (TMUX_TMPDIR) and a fake crontab command (CRONTAB=...). The machine's real
 * crontab, ~/logs and default tmux server are never touched. SSH/login
 * detection is pointed at fake `pgrep`/`who` commands, because other
 * integration tests run a real sshd with real sessions on this machine.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {skipWithout} from '../helpers/requirements.js'


/** What is under a log root besides the host's own bookkeeping (.orch-index, .orch-active…): the listing that retention writes is a cache. */
const jobEntries = (root: string) => readdirSync(root).filter((entry) => !entry.startsWith('.orch-')).sort()
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPTS = path.join(REPO, 'scripts', 'cloud')

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], {encoding: 'utf8'})
  const found = r.stdout.trim()
  return r.status === 0 && found.startsWith('/') ? found : undefined
}

const tempDirs: string[] = []
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `orch-${prefix}-`))
  tempDirs.push(dir)
  return dir
}

function writeExecutable(file: string, text: string): void {
  writeFileSync(file, text)
  chmodSync(file, 0o755)
}

interface Shell {
  name: string
  /** argv before the script path */
  argv: string[]
  /** PATH entries to put in front (busybox applets) */
  pathPrefix: string[]
}

const SYSTEM_PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'

function findShells(): Shell[] {
  const shells: Shell[] = []
  for (const name of ['dash', 'bash']) {
    const p = which(name)
    if (p) shells.push({name, argv: [p], pathPrefix: []})
  }
  const busybox = which('busybox')
  if (busybox) {
    const applets = spawnSync(busybox, ['--list'], {encoding: 'utf8'})
    if (applets.status === 0 && applets.stdout.includes('find')) {
      const dir = tempDir('busybox-bin')
      for (const applet of applets.stdout.split('\n').filter(Boolean)) {
        // busybox's own userland, except for what it lacks or what the tests fake
        if (/^[a-z0-9_.[-]+$/.test(applet)) symlinkSync(busybox, path.join(dir, applet))
      }
      shells.push({name: 'busybox', argv: [busybox, 'sh'], pathPrefix: [dir]})
    }
  }
  return shells
}

const SHELLS = findShells()
// Each script runs under busybox sh too when busybox is here; without it those runs are skipped, visibly.
const NO_BUSYBOX = skipWithout('the busybox sh runs of the host scripts', ['busybox'])
const NO_TMUX = skipWithout('the autostop check against a real tmux session', ['tmux'])
const NO_PGREP = skipWithout('the autostop check against a real sshd session title', ['bash', 'pgrep'])

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

function runScript(
  shell: Shell,
  script: string,
  args: string[],
  env: Record<string, string>,
  extraPath: string[] = [],
): Result {
  const [cmd, ...pre] = shell.argv as [string, ...string[]]
  const r = spawnSync(cmd, [...pre, path.join(SCRIPTS, script), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    // A clean environment: no ORCH_* from the developer's shell, no real HOME.
    env: {PATH: [...extraPath, ...shell.pathPrefix, SYSTEM_PATH].join(':'), LC_ALL: 'C', ...env},
  })
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** touch -h -d '40 days ago' on every entry of DIR, DIR included. */
function ageTree(dir: string, when = '40 days ago'): void {
  const r = spawnSync('find', [dir, '-exec', 'touch', '-h', '-d', when, '{}', '+'], {encoding: 'utf8'})
  expect(r.status, r.stderr).toBe(0)
}

const sleepers: ChildProcess[] = []
/**
 * A live process that runs the job's orch-wrapper.sh, as the real wrapper does (its arguments name
 * the job directory): the job library counts a job alive only then, never for a reused pid.
 */
function startWrapper(dir: string): number {
  writeFileSync(path.join(dir, 'orch-wrapper.sh'), 'sleep 600\n')
  const child = spawn('sh', [path.join(dir, 'orch-wrapper.sh'), dir, 'tmux'], {stdio: 'ignore'})
  sleepers.push(child)
  expect(child.pid).toBeTypeOf('number')
  return child.pid!
}

/** A PID that is certainly not running: beyond Linux's pid_max limit. */
const DEAD_PID = '2147483646'

function makeJob(root: string, name: string, opts: {exit?: number | null; pid?: number | string | 'live'; queued?: boolean; extra?: Record<string, string>} = {}): string {
  const dir = path.join(root, name)
  mkdirSync(dir, {recursive: true})
  const exitLine = opts.exit === null || opts.exit === undefined ? '' : `[EXIT: ${opts.exit}]\n`
  writeFileSync(path.join(dir, 'run.log'), `starting ${name}\nsome output\n${exitLine}`)
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({name, command: 'echo hi'}) + '\n')
  if (opts.exit !== null && opts.exit !== undefined) writeFileSync(path.join(dir, 'exit'), `${opts.exit}\n`)
  if (opts.pid !== undefined) writeFileSync(path.join(dir, 'pid'), `${opts.pid === 'live' ? startWrapper(dir) : opts.pid}\n`)
  if (opts.queued) writeFileSync(path.join(dir, 'queued'), '')
  else if (opts.pid === 'live') writeFileSync(path.join(dir, 'started'), `${Math.floor(Date.now() / 1000)}\n`)
  for (const [file, text] of Object.entries(opts.extra ?? {})) {
    mkdirSync(path.dirname(path.join(dir, file)), {recursive: true})
    writeFileSync(path.join(dir, file), text)
  }
  return dir
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

afterAll(() => {
  for (const child of sleepers) child.kill('SIGKILL')
  for (const dir of tempDirs) rmSync(dir, {recursive: true, force: true})
})

it('finds at least dash or bash to run the scripts with', () => {
  expect(SHELLS.map((s) => s.name)).toEqual(expect.arrayContaining(['dash', 'bash']))
})

// Shown as skipped (and printed above) when busybox is missing, so the runs it would add are not lost quietly.
describe.skipIf(NO_BUSYBOX)('busybox', () => {
  it('is among the shells the scripts run under, with its own find', () => {
    expect(SHELLS.map((s) => s.name)).toContain('busybox')
  })
})

it.each(['log-retention.sh', 'autostop-check.sh', 'crontab-line.sh', 'bootstrap.sh'])(
  '%s has a header comment with usage and exit codes, and parses under sh -n',
  (script) => {
    const text = readFileSync(path.join(SCRIPTS, script), 'utf8')
    expect(text.startsWith('#!/bin/sh\n')).toBe(true)
    expect(text).toMatch(/# Usage:/)
    expect(text).toMatch(/# Exit codes:/)
    for (const shell of SHELLS) {
      const [cmd, ...pre] = shell.argv as [string, ...string[]]
      const r = spawnSync(cmd, [...pre, '-n', path.join(SCRIPTS, script)], {encoding: 'utf8'})
      expect(r.status, `${shell.name}: ${r.stderr}`).toBe(0)
    }
  },
)

describe.each(SHELLS)('log-retention.sh under $name', (shell) => {
  let base: string
  let root: string
  let outside: string
  let home: string
  let env: Record<string, string>
  const expectedDeleted = ['old-done', 'old-failed-nested', 'old-queued-dead', 'old-queued-finished', 'old-stale-pid', 'old-with-link']

  beforeAll(() => {
    base = tempDir(`retention-${shell.name}`)
    root = path.join(base, 'logs')
    outside = path.join(base, 'outside')
    home = path.join(base, 'home')
    mkdirSync(root)
    mkdirSync(home)
    mkdirSync(outside)
    env = {HOME: home, TMPDIR: base}

    makeJob(root, 'old-done', {exit: 0})
    makeJob(root, 'old-failed-nested', {exit: 2, extra: {'artifacts/deep/result.bin': 'x'.repeat(10_000)}})
    makeJob(root, 'old-queued-finished', {exit: 0, queued: true})
    makeJob(root, 'old-stale-pid', {exit: 137, pid: DEAD_PID})
    const withLink = makeJob(root, 'old-with-link', {exit: 0})
    symlinkSync(outside, path.join(withLink, 'outside-link'))

    makeJob(root, 'old-running', {pid: 'live'})
    makeJob(root, 'old-queued', {queued: true, pid: 'live'})
    // Its wrapper died while it waited: FAILED, like every lister says, so it goes.
    makeJob(root, 'old-queued-dead', {queued: true, pid: DEAD_PID})
    makeJob(root, 'recent-job', {exit: 0, extra: {'fresh.txt': 'new'}})
    makeJob(root, 'bad.name', {exit: 0})
    makeJob(root, '_underscore-first', {exit: 0})
    makeJob(root, 'x'.repeat(65), {exit: 0})
    writeFileSync(path.join(root, 'plainfile'), 'not a directory')
    // A job-named symlink to a directory outside the root: never followed.
    mkdirSync(path.join(outside, 'victim'))
    writeFileSync(path.join(outside, 'victim', 'run.log'), '[EXIT: 0]\n')
    symlinkSync(path.join(outside, 'victim'), path.join(root, 'linked-job'))
    writeFileSync(path.join(outside, 'precious.txt'), 'keep me')

    ageTree(root)
    ageTree(outside)
    // Fresh content outside: a script that followed old-with-link/outside-link
    // would wrongly keep old-with-link.
    spawnSync('touch', [path.join(outside, 'precious.txt')])
    // One fresh file makes recent-job young; everything else is 40 days old.
    spawnSync('touch', [path.join(root, 'recent-job', 'fresh.txt')])
  })

  it('--dry-run lists exactly the old, finished, valid jobs and deletes nothing', () => {
    const before = jobEntries(root)
    const r = runScript(shell, 'log-retention.sh', ['--root', root, '--dry-run'], env)
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    const listed = lines.slice(0, -1).map((l) => {
      const m = /^would delete (\S+) (\d+) bytes$/.exec(l)
      expect(m, l).not.toBeNull()
      return m![1]
    })
    expect(listed.sort()).toEqual(expectedDeleted)
    expect(lines.at(-1)).toMatch(/^would prune 6 job\(s\), free \d+ bytes \(dry run\)$/)
    expect(jobEntries(root)).toEqual(before)
  })

  it('keeps everything when the limit is longer than the age (flag and ORCH_LOG_RETENTION_DAYS)', () => {
    const byFlag = runScript(shell, 'log-retention.sh', ['--root', root, '--older-than-days', '50'], env)
    expect(byFlag.code, byFlag.stderr).toBe(0)
    expect(byFlag.stdout).toBe('pruned 0 job(s), freed 0 bytes\n')
    const byEnv = runScript(shell, 'log-retention.sh', ['--dry-run'], {...env, ORCH_LOG_ROOT: root, ORCH_LOG_RETENTION_DAYS: '41'})
    expect(byEnv.code, byEnv.stderr).toBe(0)
    expect(byEnv.stdout).toBe('would prune 0 job(s), free 0 bytes (dry run)\n')
    expect(readdirSync(root)).toContain('old-done')
  })

  it('deletes the old finished jobs, reports sizes and a summary, and keeps the rest', () => {
    const r = runScript(shell, 'log-retention.sh', ['--root', root, '--older-than-days', '30', '--verbose'], env)
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    let total = 0
    const deleted = lines.slice(0, -1).map((l) => {
      const m = /^deleted (\S+) (\d+) bytes$/.exec(l)
      expect(m, l).not.toBeNull()
      total += Number(m![2])
      expect(Number(m![2])).toBeGreaterThan(0)
      return m![1]
    })
    expect(deleted.sort()).toEqual(expectedDeleted)
    expect(lines.at(-1)).toBe(`pruned 6 job(s), freed ${total} bytes`)
    // the nested job holds a 10 kB artifact
    expect(total).toBeGreaterThan(10_000)

    const left = jobEntries(root)
    for (const name of expectedDeleted) expect(left).not.toContain(name)
    expect(left).toEqual(
      ['_underscore-first', 'bad.name', 'linked-job', 'old-queued', 'old-running', 'plainfile', 'recent-job', 'x'.repeat(65)].sort(),
    )
    // kept reasons are explained with --verbose
    expect(r.stderr).toMatch(/kept old-running: running/)
    expect(r.stderr).toMatch(/kept old-queued: queued/)
    expect(r.stderr).toMatch(/kept linked-job: a symlink/)
    expect(r.stderr).toMatch(/kept bad\.name: not a valid job name/)

    // nothing outside the root was touched through either symlink
    expect(readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('keep me')
    expect(readFileSync(path.join(outside, 'victim', 'run.log'), 'utf8')).toBe('[EXIT: 0]\n')
    expect(lstatSync(path.join(root, 'linked-job')).isSymbolicLink()).toBe(true)

    // a second run finds nothing more to do
    const again = runScript(shell, 'log-retention.sh', ['--root', root], env)
    expect(again.stdout).toBe('pruned 0 job(s), freed 0 bytes\n')
  })

  it('defaults the root to $HOME/logs and treats a missing root as nothing to do', () => {
    const r = runScript(shell, 'log-retention.sh', [], env)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('pruned 0 job(s), freed 0 bytes\n')
    expect(r.stderr).toContain(path.join(home, 'logs'))
  })

  it('refuses bad arguments with exit 2', () => {
    for (const args of [['--older-than-days', 'abc'], ['--older-than-days', '0'], ['--older-than-days'], ['--bogus']]) {
      const r = runScript(shell, 'log-retention.sh', ['--root', root, ...args], env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(/usage:/)
    }
  })
})

describe.each(SHELLS)('autostop-check.sh under $name', (shell) => {
  let base: string
  let root: string
  let stateFile: string
  let marker: string
  let fakeBin: string
  let uptimeFile: string
  let tmuxSocket: string
  let env: Record<string, string>

  function check(extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Result {
    const r = runScript(
      shell,
      'autostop-check.sh',
      [
        '--idle-minutes', '30',
        '--root', root,
        '--state-file', stateFile,
        '--shutdown-cmd', `echo shutdown >> '${marker}'`,
        '--tmux-socket', tmuxSocket,
        '--verbose',
        ...extraArgs,
      ],
      {...env, ...extraEnv},
      [fakeBin],
    )
    return r
  }

  function shutdowns(): number {
    return existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0
  }

  function state(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const line of readFileSync(stateFile, 'utf8').split('\n').filter(Boolean)) {
      const [k, v] = line.split('=') as [string, string]
      out[k] = Number(v)
    }
    return out
  }

  function setState(lines: Record<string, number>): void {
    writeFileSync(stateFile, Object.entries(lines).map(([k, v]) => `${k}=${v}\n`).join(''))
  }

  function reset(): void {
    rmSync(root, {recursive: true, force: true})
    mkdirSync(root)
    rmSync(marker, {force: true})
    rmSync(stateFile, {force: true})
  }

  beforeAll(() => {
    base = tempDir(`autostop-${shell.name}`)
    root = path.join(base, 'logs')
    stateFile = path.join(base, 'home', '.orch', 'autostop.state')
    marker = path.join(base, 'shutdown-marker')
    fakeBin = path.join(base, 'bin')
    uptimeFile = path.join(base, 'uptime')
    tmuxSocket = `orch-test-${process.pid}-${shell.name}`
    mkdirSync(fakeBin)
    mkdirSync(path.join(base, 'tmux'))
    // Fakes for the SSH/login checks: FAKE_SSH=1 means an sshd session exists.
    writeExecutable(path.join(fakeBin, 'pgrep'), '#!/bin/sh\n[ "${FAKE_SSH:-0}" = 1 ]\n')
    writeExecutable(path.join(fakeBin, 'who'), '#!/bin/sh\n[ -z "${FAKE_WHO:-}" ] || printf \'%s\\n\' "$FAKE_WHO"\n')
    // A host that has been up for a long time (the boot-time reset stays out of the way).
    writeFileSync(uptimeFile, '100000000.00 12345.00\n')
    env = {HOME: path.join(base, 'home'), TMPDIR: base, TMUX_TMPDIR: path.join(base, 'tmux'), ORCH_PROC_UPTIME: uptimeFile}
  })

  afterAll(() => {
    spawnSync('tmux', ['-L', tmuxSocket, 'kill-server'], {env: {...process.env, TMUX_TMPDIR: path.join(base, 'tmux')}})
  })

  it('first run when idle: creates the state file (the idle clock starts) and does not shut down', () => {
    reset()
    const before = nowSeconds()
    const r = check()
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/idle clock started/)
    expect(shutdowns()).toBe(0)
    const s = state()
    expect(s.last_busy).toBeGreaterThanOrEqual(before)
    expect(s.last_busy).toBeLessThanOrEqual(nowSeconds())
    expect(s.shutdown_at).toBeUndefined()
    // still idle, but not for 30 minutes yet
    const again = check()
    expect(again.stdout).toMatch(/idle for 0 min of 30/)
    expect(shutdowns()).toBe(0)
  })

  it('idle past the limit: runs the shutdown command exactly once', () => {
    reset()
    makeJob(root, 'finished-job', {exit: 0, pid: DEAD_PID})
    makeJob(root, 'failed-queued-job', {exit: 1, queued: true})
    setState({last_busy: nowSeconds() - 2 * 3600})
    const r = check()
    expect(r.code, r.stderr).toBe(0)
    expect(shutdowns()).toBe(1)
    expect(state().shutdown_at).toBeGreaterThan(nowSeconds() - 60)
    expect(state().shutdown_rc).toBe(0)
    for (let i = 0; i < 3; i++) {
      const more = check()
      expect(more.code).toBe(0)
      expect(more.stdout).toMatch(/already requested/)
    }
    expect(shutdowns()).toBe(1)
  })

  it('idle for less than the limit: no shutdown', () => {
    reset()
    setState({last_busy: nowSeconds() - 29 * 60})
    expect(check().code).toBe(0)
    expect(shutdowns()).toBe(0)
  })

  it('never shuts down with a running job, however old the last busy time; records now as busy', () => {
    reset()
    makeJob(root, 'running-job', {pid: 'live'})
    setState({last_busy: nowSeconds() - 10 * 3600})
    const before = nowSeconds()
    const r = check()
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/busy: job running-job is running/)
    expect(shutdowns()).toBe(0)
    expect(state().last_busy).toBeGreaterThanOrEqual(before)
  })

  it('never shuts down with a queued job (marker present, no [EXIT: line)', () => {
    reset()
    makeJob(root, 'queued-job', {queued: true, pid: 'live'})
    setState({last_busy: nowSeconds() - 10 * 3600})
    const r = check()
    expect(r.stdout).toMatch(/busy: job queued-job is queued/)
    expect(shutdowns()).toBe(0)
  })

  it.skipIf(NO_TMUX)('is busy while a tmux session exists on its socket', () => {
    reset()
    const tmux = which('tmux')!
    const tmuxEnv = {...process.env, TMUX_TMPDIR: path.join(base, 'tmux')}
    const started = spawnSync(tmux, ['-L', tmuxSocket, 'new-session', '-d', '-s', 'someone', 'sleep 300'], {env: tmuxEnv})
    expect(started.status, String(started.stderr)).toBe(0)
    try {
      setState({last_busy: nowSeconds() - 10 * 3600})
      const r = check()
      expect(r.stdout).toMatch(/busy: tmux session someone exists/)
      expect(shutdowns()).toBe(0)
    } finally {
      spawnSync(tmux, ['-L', tmuxSocket, 'kill-server'], {env: tmuxEnv})
    }
    setState({last_busy: nowSeconds() - 10 * 3600})
    check()
    expect(shutdowns()).toBe(1)
  })

  it('is busy while an SSH session or a login is open', () => {
    reset()
    setState({last_busy: nowSeconds() - 10 * 3600})
    expect(check({FAKE_SSH: '1'}).stdout).toMatch(/busy: an SSH session is open/)
    setState({last_busy: nowSeconds() - 10 * 3600})
    expect(check({FAKE_WHO: 'alice pts/0 2026-01-01 10:00 (10.0.0.1)'}).stdout).toMatch(/busy: a login session is open/)
    expect(shutdowns()).toBe(0)
  })

  it('busy clears an earlier shutdown request, so a later idle period shuts down again', () => {
    reset()
    setState({last_busy: nowSeconds() - 3600})
    check()
    expect(shutdowns()).toBe(1)
    check({FAKE_SSH: '1'})
    expect(state().shutdown_at).toBeUndefined()
    setState({last_busy: nowSeconds() - 3600})
    check()
    expect(shutdowns()).toBe(2)
  })

  it('retries only after another whole idle period when the host did not go down', () => {
    reset()
    setState({last_busy: nowSeconds() - 5 * 3600, shutdown_at: nowSeconds() - 10 * 60, shutdown_rc: 0})
    check()
    expect(shutdowns()).toBe(0)
    setState({last_busy: nowSeconds() - 5 * 3600, shutdown_at: nowSeconds() - 31 * 60, shutdown_rc: 0})
    check()
    expect(shutdowns()).toBe(1)
  })

  it('a state file from before the last boot restarts the idle clock instead of shutting down', () => {
    reset()
    writeFileSync(path.join(base, 'uptime-short'), '30.25 10.00\n')
    setState({last_busy: nowSeconds() - 2 * 3600, shutdown_at: nowSeconds() - 3600, shutdown_rc: 0})
    const before = nowSeconds()
    const r = check({ORCH_PROC_UPTIME: path.join(base, 'uptime-short')})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/booted/)
    expect(shutdowns()).toBe(0)
    expect(state().last_busy).toBeGreaterThanOrEqual(before)
    expect(state().shutdown_at).toBeUndefined()
  })

  it('an unreadable (garbage) state file restarts the idle clock', () => {
    reset()
    mkdirSync(path.dirname(stateFile), {recursive: true})
    writeFileSync(stateFile, 'garbage\nlast_busy=yesterday\n')
    expect(check().code).toBe(0)
    expect(shutdowns()).toBe(0)
    expect(state().last_busy).toBeGreaterThan(nowSeconds() - 60)
  })

  it('a failing shutdown command exits 3 and records its status', () => {
    reset()
    setState({last_busy: nowSeconds() - 3600})
    const r = runScript(
      shell,
      'autostop-check.sh',
      ['--idle-minutes', '30', '--root', root, '--state-file', stateFile, '--shutdown-cmd', 'exit 7', '--tmux-socket', tmuxSocket],
      env,
      [fakeBin],
    )
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/failed with status 7/)
    expect(state().shutdown_rc).toBe(7)
  })

  it('--dry-run decides without shutting down or writing state', () => {
    reset()
    setState({last_busy: nowSeconds() - 3600})
    const before = readFileSync(stateFile, 'utf8')
    const r = check({}, ['--dry-run'])
    expect(r.stdout).toMatch(/would run: echo shutdown/)
    expect(shutdowns()).toBe(0)
    expect(readFileSync(stateFile, 'utf8')).toBe(before)
  })

  it('refuses bad arguments with exit 2', () => {
    for (const args of [['--idle-minutes', 'soon'], ['--idle-minutes', '0'], ['--nope']]) {
      const r = runScript(shell, 'autostop-check.sh', ['--root', root, '--state-file', stateFile, ...args], env, [fakeBin])
      expect(r.code, args.join(' ')).toBe(2)
    }
    expect(shutdowns()).toBe(0)
  })
})

describe('autostop-check.sh SSH detection with the real pgrep', () => {
  const bash = which('bash')
  const pgrep = which('pgrep')
  it.skipIf(NO_PGREP)('sees an authenticated sshd session process ("sshd: user@notty")', () => {
    const base = tempDir('autostop-ssh')
    // A process titled like sshd's per-session child.
    const child = spawn(bash!, ['-c', "exec -a 'sshd: orch-tester@notty' sleep 600"], {stdio: 'ignore'})
    sleepers.push(child)
    // wait until the title is visible
    for (let i = 0; i < 50; i++) {
      if (spawnSync(pgrep!, ['-f', '^sshd: orch-tester@notty']).status === 0) break
      spawnSync('sleep', ['0.1'])
    }
    const shell = SHELLS.find((s) => s.name === 'dash') ?? SHELLS[0]!
    writeFileSync(path.join(base, 'state'), `last_busy=${nowSeconds() - 7200}\n`)
    const r = runScript(
      shell,
      'autostop-check.sh',
      ['--root', path.join(base, 'logs'), '--state-file', path.join(base, 'state'), '--shutdown-cmd', `touch '${base}/marker'`, '--tmux-socket', `orch-none-${process.pid}`, '--verbose'],
      {HOME: base, TMPDIR: base, TMUX_TMPDIR: base, ORCH_PROC_UPTIME: '/nonexistent'},
    )
    child.kill('SIGKILL')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/busy: an SSH session is open/)
    expect(existsSync(path.join(base, 'marker'))).toBe(false)
  })
})

/** A fake `crontab` command keeping its table in $FAKE_CRONTAB_FILE. */
const FAKE_CRONTAB = `#!/bin/sh
# fake crontab: -l prints, FILE or - installs, -r removes; every call is logged.
f=\${FAKE_CRONTAB_FILE:?}
echo "$*" >>"\${FAKE_CRONTAB_LOG:-/dev/null}"
case \${1:-} in
  -l)
    [ -z "\${FAKE_CRONTAB_BROKEN:-}" ] || { echo "crontab: cannot connect to spool: try again" >&2; exit 1; }
    [ -e "$f" ] || { echo "no crontab for tester" >&2; exit 1; }
    cat "$f"
    ;;
  -r) rm -f "$f" ;;
  *)
    src=$1
    [ "$src" = - ] && src=/dev/stdin
    tmp=$f.new
    cat "$src" >"$tmp"
    # like the real crontab: a non-empty file must end with a newline
    if [ -s "$tmp" ] && [ "$(tail -c 1 "$tmp" | od -An -c | tr -d ' ')" != '\\n' ]; then
      echo "new crontab file is missing newline before EOF, can't install." >&2
      rm -f "$tmp"
      exit 1
    fi
    mv "$tmp" "$f"
    ;;
esac
`

describe.each(SHELLS)('crontab-line.sh under $name', (shell) => {
  let base: string
  let table: string
  let callLog: string
  let env: Record<string, string>
  const TAG = 'orch:log-retention'
  const LINE = `17 3 * * * /bin/sh /opt/orch/log-retention.sh --older-than-days 30 # ${TAG}`

  function cron(args: string[], extra: Record<string, string> = {}): Result {
    return runScript(shell, 'crontab-line.sh', args, {...env, ...extra})
  }

  function installs(): number {
    if (!existsSync(callLog)) return 0
    return readFileSync(callLog, 'utf8').split('\n').filter((l) => l && l !== '-l').length
  }

  function reset(content?: string): void {
    rmSync(table, {force: true})
    rmSync(callLog, {force: true})
    if (content !== undefined) writeFileSync(table, content)
  }

  const USER_TABLE = [
    '# my crontab — keep me exactly as I am',
    'SHELL=/bin/bash',
    'MAILTO=""',
    '',
    '*/5 * * * * /usr/bin/backup.sh --to "s3://bucket/path with spaces" 2>&1 | logger -t backup',
    '\t# an indented comment with trailing blanks   ',
    '0 0 1 * * date +\\%Y-\\%m-\\%d > /tmp/month # orch:log-retention-old (not ours: different tag)',
    '30 2 * * * echo "windows line"\r',
    '@reboot /home/me/bin/start-things # résumé ✓',
    '',
    '',
  ].join('\n')

  beforeAll(() => {
    base = tempDir(`crontab-${shell.name}`)
    table = path.join(base, 'crontab.txt')
    callLog = path.join(base, 'calls.log')
    const fake = path.join(base, 'fake-crontab')
    writeExecutable(fake, FAKE_CRONTAB)
    env = {HOME: path.join(base, 'home'), TMPDIR: base, CRONTAB: fake, FAKE_CRONTAB_FILE: table, FAKE_CRONTAB_LOG: callLog}
  })

  it('with no crontab: show exits 3, install adds the line, a second install changes nothing', () => {
    reset()
    const shown = cron(['show'])
    expect(shown.code).toBe(3)
    expect(shown.stdout).toBe('')

    const first = cron(['install', '--line', LINE])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toBe(`installed: ${LINE}\n`)
    expect(readFileSync(table, 'utf8')).toBe(`${LINE}\n`)
    expect(installs()).toBe(1)

    const second = cron(['install', '--line', LINE])
    expect(second.code).toBe(0)
    expect(second.stdout).toBe(`already installed: ${LINE}\n`)
    expect(readFileSync(table, 'utf8')).toBe(`${LINE}\n`)
    expect(installs()).toBe(1)

    const show = cron(['show'])
    expect(show.code).toBe(0)
    expect(show.stdout).toBe(`${LINE}\n`)
  })

  it('keeps every other line byte for byte, and installing twice leaves one line', () => {
    reset(USER_TABLE)
    expect(cron(['install', '--line', LINE]).code).toBe(0)
    expect(readFileSync(table, 'utf8')).toBe(`${USER_TABLE}${LINE}\n`)
    expect(cron(['install', '--line', LINE]).code).toBe(0)
    expect(readFileSync(table, 'utf8')).toBe(`${USER_TABLE}${LINE}\n`)
    expect(readFileSync(table, 'utf8').split(`# ${TAG}\n`).length).toBe(2)
  })

  it('replaces a different tagged line in place, and drops duplicates', () => {
    const oldLine = `0 4 * * * /bin/sh /old/place/log-retention.sh # ${TAG}`
    const before = `# head\n${oldLine}\nMAILTO=me\n${oldLine}   \n# tail\n`
    reset(before)
    const r = cron(['install', '--line', LINE])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`replaced: ${LINE}\n`)
    expect(readFileSync(table, 'utf8')).toBe(`# head\n${LINE}\nMAILTO=me\n# tail\n`)
  })

  it('appends the marker to a line given without it', () => {
    reset('')
    const r = cron(['install', '--line', '*/10 * * * * /bin/true', '--marker', 'orch:test'])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(table, 'utf8')).toBe('*/10 * * * * /bin/true # orch:test\n')
    expect(cron(['show', '--marker', 'orch:test']).stdout).toBe('*/10 * * * * /bin/true # orch:test\n')
    // a different marker leaves this one alone
    expect(cron(['show']).code).toBe(3)
  })

  it('remove deletes only the tagged line; removing again is a no-op', () => {
    reset(`${USER_TABLE}${LINE}\n`)
    const r = cron(['remove'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^removed 1 line/)
    expect(readFileSync(table, 'utf8')).toBe(USER_TABLE)
    const again = cron(['remove'])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/^not installed/)
    expect(installs()).toBe(1)
    // with no crontab at all
    reset()
    expect(cron(['remove']).code).toBe(0)
    expect(existsSync(table)).toBe(false)
  })

  it('a last line without a newline gets one (crontab requires it); its bytes are otherwise kept', () => {
    reset('# first\n5 * * * * /bin/last-line')
    expect(cron(['install', '--line', LINE]).code).toBe(0)
    expect(readFileSync(table, 'utf8')).toBe(`# first\n5 * * * * /bin/last-line\n${LINE}\n`)
  })

  it('the default line runs log-retention.sh from the scripts directory', () => {
    reset()
    const r = cron(['install'], {ORCH_LOG_RETENTION_DAYS: '14', ORCH_LOG_ROOT: "/data/it's logs"})
    expect(r.code, r.stderr).toBe(0)
    const line = readFileSync(table, 'utf8')
    expect(line).toContain(`'${path.join(SCRIPTS, 'log-retention.sh')}' --older-than-days 14 --root '/data/it'\\''s logs'`)
    expect(line.endsWith(`# ${TAG}\n`)).toBe(true)
    // and the command part is valid sh that would run the script
    const syntax = spawnSync('sh', ['-n', '-c', line.replace(/^(\S+\s+){5}/, '')])
    expect(syntax.status).toBe(0)
  })

  it('a failing `crontab -l` (other than "no crontab") stops before installing anything', () => {
    reset(USER_TABLE)
    const r = cron(['install', '--line', LINE], {FAKE_CRONTAB_BROKEN: '1'})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/cannot connect to spool/)
    expect(readFileSync(table, 'utf8')).toBe(USER_TABLE)
    expect(installs()).toBe(0)
  })

  it('refuses bad arguments with exit 2', () => {
    for (const args of [[], ['frobnicate'], ['install', '--marker', 'has space'], ['install', '--line', 'a\nb'], ['remove', '--line', LINE], ['install', '--marker', 'other']]) {
      const r = cron(args)
      expect(r.code, JSON.stringify(args)).toBe(2)
    }
  })
})

describe.each(SHELLS)('bootstrap.sh under $name', (shell) => {
  let base: string
  let home: string
  let sandboxBin: string
  let env: Record<string, string>

  beforeAll(() => {
    base = tempDir(`bootstrap-${shell.name}`)
    home = path.join(base, 'home')
    mkdirSync(home)
    // A PATH holding only the basic tools: tmux and git are "missing", and the
    // only package manager is a fake apt-get that logs and "installs" them.
    sandboxBin = path.join(base, 'bin')
    mkdirSync(sandboxBin)
    for (const tool of ['sh', 'awk', 'sed', 'grep', 'cat', 'id', 'dirname', 'mkdir', 'mktemp', 'rm', 'wc', 'tr', 'env', 'tail', 'od', 'mv', 'tar', 'chmod']) {
      const p = which(tool)
      if (p) symlinkSync(p, path.join(sandboxBin, tool))
    }
    writeExecutable(
      path.join(sandboxBin, 'apt-get'),
      `#!/bin/sh
echo "apt-get $*" >>"${base}/apt.log"
case " $* " in
  *" install "*)
    for a in "$@"; do
      case $a in tmux|git) printf '#!/bin/sh\\n' >"${sandboxBin}/$a"; chmod +x "${sandboxBin}/$a" ;; esac
    done
    ;;
esac
`,
    )
    // not root on some machines: a sudo that just runs the command
    writeExecutable(path.join(sandboxBin, 'sudo'), '#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n')
    const fake = path.join(base, 'fake-crontab')
    writeExecutable(fake, FAKE_CRONTAB)
    env = {HOME: home, TMPDIR: base, CRONTAB: fake, FAKE_CRONTAB_FILE: path.join(base, 'crontab.txt')}
  })

  function bootstrap(): Result {
    const [cmd, ...pre] = shell.argv as [string, ...string[]]
    const r = spawnSync(cmd, [...pre, path.join(SCRIPTS, 'bootstrap.sh')], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {PATH: [...shell.pathPrefix, sandboxBin].join(':'), LC_ALL: 'C', ...env},
    })
    return {code: r.status, stdout: r.stdout, stderr: r.stderr}
  }

  it('installs what is missing, creates the dirs and the cron line; a second run changes nothing', () => {
    writeFileSync(env.FAKE_CRONTAB_FILE!, '# mine\n@daily /bin/true\n')
    const first = bootstrap()
    expect(first.code, first.stderr + first.stdout).toBe(0)
    expect(first.stdout).toMatch(/^installed: tmux git$/m)
    expect(first.stdout).toContain(`${path.join(home, 'logs')}: created`)
    expect(first.stdout).toContain(`${path.join(home, '.orch')}: created`)
    expect(first.stdout).toMatch(/retention cron line: installed/)
    expect(first.stdout).toMatch(/bootstrap done: \d+ change\(s\)/)
    expect(lstatSync(path.join(home, 'logs')).isDirectory()).toBe(true)
    expect(lstatSync(path.join(home, '.orch')).mode & 0o777).toBe(0o700)
    const apt = readFileSync(path.join(base, 'apt.log'), 'utf8')
    expect(apt).toMatch(/apt-get .*update/)
    expect(apt).toMatch(/apt-get .*install .*tmux git/)
    const table = readFileSync(env.FAKE_CRONTAB_FILE!, 'utf8')
    expect(table.startsWith('# mine\n@daily /bin/true\n')).toBe(true)
    expect(table).toContain(`--root '${path.join(home, 'logs')}'`)
    expect(table.trimEnd().endsWith('# orch:log-retention')).toBe(true)

    const second = bootstrap()
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/tmux: already installed/)
    expect(second.stdout).toMatch(/retention cron line: already installed/)
    expect(second.stdout.trimEnd().split('\n').at(-1)).toBe('everything is already in place')
    expect(readFileSync(env.FAKE_CRONTAB_FILE!, 'utf8')).toBe(table)
    expect(readFileSync(path.join(base, 'apt.log'), 'utf8')).toBe(apt)
    // reset for the next shell's run of the same sandbox (each shell has its own base)
  })

  it('not root, no sudo, no crontab, an unwritable log root: every failed step says why and what to do', (context) => {
    // busybox sh runs its own id applet before any id on PATH, so the fake user below cannot be
    // made for it: the other shells cover these messages.
    if (shell.name === 'busybox') {
      console.warn('skipping the unprivileged bootstrap run under busybox: its sh runs its own id, not the fake one on PATH')
      return context.skip()
    }
    // A separate bin: id says uid 1000, there is no sudo, tmux and git are missing, no crontab.
    const bin = path.join(base, 'bin-unprivileged')
    mkdirSync(bin)
    for (const tool of ['sh', 'awk', 'sed', 'grep', 'cat', 'dirname', 'mkdir', 'mktemp', 'rm', 'wc', 'tr', 'env', 'tail', 'od', 'mv', 'tar', 'chmod']) {
      const p = which(tool)
      if (p) symlinkSync(p, path.join(bin, tool))
    }
    symlinkSync(path.join(sandboxBin, 'apt-get'), path.join(bin, 'apt-get'))
    writeExecutable(path.join(bin, 'id'), '#!/bin/sh\ncase $1 in -u) echo 1000 ;; -un) echo tester ;; *) echo "uid=1000(tester)" ;; esac\n')
    // A file where the log root's parent should be a directory: mkdir fails even for root.
    writeFileSync(path.join(base, 'locked-file'), '')
    const [cmd, ...pre] = shell.argv as [string, ...string[]]
    const r = spawnSync(cmd, [...pre, path.join(SCRIPTS, 'bootstrap.sh'), '--root', path.join(base, 'locked-file', 'logs')], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {PATH: [...shell.pathPrefix, bin].join(':'), LC_ALL: 'C', HOME: path.join(base, 'home-unprivileged'), CRONTAB: path.join(base, 'no-such-crontab')},
    })
    expect(r.status, r.stderr).toBe(1)
    const failed = r.stderr.split('\n').filter((line) => line.startsWith('bootstrap.sh: '))
    expect(failed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bootstrap\.sh: packages: cannot install tmux git cron with apt-get: tester is not root and there is no sudo -- fix: as root on the host run: apt-get install -y tmux git cron/),
        expect.stringMatching(/^bootstrap\.sh: log root: cannot create .*locked-file\/logs: Not a directory -- fix: as root on the host run: mkdir -p .* && chown tester .*ORCH_LOG_ROOT/),
        expect.stringMatching(/^bootstrap\.sh: cron line: no crontab command .* -- fix: as root on the host run: apt-get install -y cron/),
      ]),
    )
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('bootstrap incomplete: see the failed steps above')
  })
})
