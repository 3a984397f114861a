/**
 * Host users whose login shell is bash, dash, zsh, fish or tcsh, each with a start-up file that
 * prints a line (to stdout and to stderr): sshd runs every command through that shell, so orch
 * sends it one fixed line (`exec /bin/sh -s`) and delimits its scripts' output. The hostile-command
 * corpus must reach /bin/sh byte for byte, and nothing a start-up file prints may reach a log,
 * `--tail`, a JSON document, a job record or a notification.
 *
 * The users are made with useradd, so this needs root (CI runs as root); they are removed after.
 */
import {spawnSync} from 'node:child_process'
import {chownSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {SANDBOX_TOOLS, findTool, skipWithout} from '../helpers/requirements.js'
import {hostileScripts} from './helpers/hostile-scripts.js'
import {OrchWorld, waitUntil} from './helpers/orch-cli.js'

vi.setConfig({testTimeout: 300_000, hookTimeout: 120_000})

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0
if (!IS_ROOT) console.warn('skipping the login-shell tests: they create host users (useradd), which needs root')
const NO_SANDBOX = !IS_ROOT || skipWithout('the login-shell tests', [...SANDBOX_TOOLS, 'useradd', 'runuser'])

/** What each start-up file says; none of it may reach orch's output. */
const NOISE = 'STARTUP-NOISE'

interface Shell {
  name: string
  /** Files in the user's home and what they hold. */
  files: Record<string, string>
}

const SHELLS: Shell[] = [
  // sshd runs `bash -c` non-interactively; Debian's bash reads ~/.bashrc then (SSH_SOURCE_BASHRC).
  {name: 'bash', files: {'.bashrc': `echo ${NOISE}-bashrc\necho ${NOISE}-bashrc-err >&2\n`}},
  // dash -c reads no start-up file; .profile is there in case some sshd runs it as a login shell.
  {name: 'dash', files: {'.profile': `echo ${NOISE}-profile\necho ${NOISE}-profile-err >&2\n`}},
  // A line without its newline, and one on stderr.
  {name: 'zsh', files: {'.zshenv': `printf '%s' ${NOISE}-zshenv\necho ${NOISE}-zshenv-err >&2\n`}},
  {name: 'fish', files: {'.config/fish/config.fish': `echo ${NOISE}-fish\necho ${NOISE}-fish-err >&2\n`}},
  {name: 'tcsh', files: {'.tcshrc': `echo ${NOISE}-tcshrc\n`}},
]

function sh(file: string, args: string[]): void {
  const result = spawnSync(file, args, {encoding: 'utf8'})
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${result.stderr}`)
}

/** A fresh user `orch-ls-SHELL` whose login shell is SHELL, with its start-up files. */
function makeUser(shell: Shell): string {
  const user = `orch-ls-${shell.name}`
  spawnSync('userdel', ['-r', user], {encoding: 'utf8'})
  sh('useradd', ['-m', '-s', findTool(shell.name)!, user])
  // No password, but not locked: sshd (without PAM) refuses a locked account even with a key.
  sh('usermod', ['-p', '*', user])
  const entry = spawnSync('getent', ['passwd', user], {encoding: 'utf8'}).stdout.trim().split(':')
  const [uid, gid, home] = [Number(entry[2]), Number(entry[3]), entry[5]!]
  for (const [path, text] of Object.entries(shell.files)) {
    const full = join(home, path)
    mkdirSync(join(full, '..'), {recursive: true})
    writeFileSync(full, text)
    sh('chown', ['-R', `${uid}:${gid}`, home])
  }
  chownSync(home, uid, gid)
  return user
}

for (const shell of SHELLS) {
  const missing = !NO_SANDBOX && findTool(shell.name) === undefined
  if (missing) console.warn(`skipping the ${shell.name} login-shell tests: ${shell.name} is not installed (apt-get install -y ${shell.name})`)
  describe.skipIf(NO_SANDBOX || missing)(`login shell ${shell.name}`, () => {
    let world: OrchWorld
    let user: string
    let home: string

    beforeAll(async () => {
      user = makeUser(shell)
      world = await OrchWorld.start({user})
      home = world.sandbox.home
    })

    afterAll(async () => {
      await world?.cleanup()
      if (user) spawnSync('userdel', ['-r', user], {encoding: 'utf8'})
    })

    const noNoise = (text: string, where: string) => expect(text, where).not.toContain(NOISE)

    it.skipIf(shell.name === 'dash')('the start-up file does print, for OpenSSH\'s own client', () => {
      const seen = spawnSync('ssh', [...world.sandbox.sshArgs(), 'true'], {encoding: 'utf8'})
      expect(seen.status, seen.stderr).toBe(0)
      expect(seen.stdout + seen.stderr).toContain(NOISE)
    })

    it('the hostile-command corpus reaches /bin/sh byte for byte, and list, status and logs show it exactly', async () => {
      const cases = hostileScripts(home)
      for (const {name, script, output} of cases) {
        const expected = `${output}[EXIT: 0]\n`
        const job = `h-${name}`
        const run = await world.orch(['run', job, '--where', 'cloud', '--wait', '--', script])
        noNoise(run.stdout + run.stderr, `${name}: run --wait`)
        expect(run.code, `${name}: ${run.stderr}`).toBe(0)
        expect(run.stdout, name).toBe(expected)
        expect(readFileSync(join(world.logRoot, job, 'cmd.sh'))).toEqual(Buffer.from(script))
        const tail = await world.orch(['logs', job, '--tail', '1'])
        expect(tail, name).toMatchObject({code: 0, stdout: '[EXIT: 0]\n', stderr: ''})
      }
      const listed = await world.orch(['list', '--json'])
      noNoise(listed.stdout + listed.stderr, 'list --json')
      const jobs = JSON.parse(listed.stdout) as Array<{name: string; command: string; state: string}>
      for (const {name, script} of cases) expect(jobs.find((job) => job.name === `h-${name}`), name).toMatchObject({command: script, state: 'DONE'})
      const text = await world.orch(['list'])
      noNoise(text.stdout + text.stderr, 'list')
      expect(text.stdout).toContain('h-backslashes')
    })

    it('exit statuses, logs -f, and a --notify body (ORCH_NOTIFY=stdout)', async () => {
      const run = await world.orch(['run', 'ex-7', '--where', 'cloud', '--notify', '--', "printf 'x\\n\"q\" \\\\ %s\\n' \"'s\"; exit 7"], {env: {ORCH_NOTIFY: 'stdout'}})
      expect(run.code, run.stderr).toBe(0)
      noNoise(run.stdout + run.stderr, 'run')
      const followed = await world.orch(['logs', '-f', 'ex-7'])
      expect(followed).toMatchObject({code: 7, stdout: 'x\n"q" \\ \'s\n[EXIT: 7]\n', stderr: ''})
      await waitUntil('the notification', () => {
        try {
          return readFileSync(join(world.logRoot, 'ex-7', 'notification'), 'utf8').length > 0
        } catch {
          return false
        }
      }, 30_000)
      expect(readFileSync(join(world.logRoot, 'ex-7', 'notification'), 'utf8')).toMatch(/^ex-7 FAILED \(exit 7\) after \d+s on \S+\nx\n"q" \\ 's\n$/)
      const listed = JSON.parse((await world.orch(['list', '--json'])).stdout) as Array<{name: string; state: string; exitCode: number}>
      expect(listed.find((job) => job.name === 'ex-7')).toMatchObject({state: 'FAILED', exitCode: 7})
    })

    it('a running job: list, logs --tail 1, stop', async () => {
      await world.orch(['run', 'live', '--where', 'cloud', '--', 'echo started; sleep 60'])
      await world.waitForLog('live', /started\n/)
      const tail = await world.orch(['logs', 'live', '--tail', '1'])
      expect(tail).toMatchObject({code: 0, stdout: 'started\n', stderr: ''})
      const status = await world.orch(['status', '--json'])
      noNoise(status.stdout + status.stderr, 'status --json')
      const running = JSON.parse(status.stdout) as Array<{name: string; state: string; command: string}>
      expect(running.find((job) => job.name === 'live')).toMatchObject({state: 'RUNNING', command: 'echo started; sleep 60'})
      const stop = await world.orch(['stop', 'live'])
      expect(stop.code, stop.stderr).toBe(0)
      noNoise(stop.stdout + stop.stderr, 'stop')
      await waitUntil('live to be STOPPED', async () => {
        const jobs = JSON.parse((await world.orch(['list', '--json'])).stdout) as Array<{name: string; state: string}>
        return jobs.find((job) => job.name === 'live')?.state === 'STOPPED'
      }, 30_000)
    })
  })
}
