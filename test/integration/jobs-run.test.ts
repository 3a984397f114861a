/**
 * `orch run` / `orch logs` / `orch list` against a real OpenSSH server and a real tmux: exit
 * statuses, hostile commands arriving byte for byte, large output, a client killed mid-run, name
 * conflicts, and the JSON shape of status and list (cloud and local jobs).
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {hostileScripts} from './helpers/hostile-scripts.js'
import {BIN, OrchWorld, exec, lastLine, stderrLines, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the orch run integration tests', SANDBOX_TOOLS)

// Each test runs the CLI many times; a loaded machine (2 cores, other suites) makes that slow.
vi.setConfig({testTimeout: 240_000, hookTimeout: 120_000})

let world: OrchWorld

beforeAll(async () => {
  world = await OrchWorld.start()
})

afterAll(async () => {
  await world?.cleanup()
})

/** Start a cloud job, follow it to the end, and check the three places its status shows. */
async function expectExit(name: string, argv: string[], code: number, during?: () => Promise<void>): Promise<string> {
  await world.runCloud(name, argv)
  const follow = world.spawn(['logs', '-f', name])
  if (during) await during()
  const followed = await follow.output
  expect(followed.stderr).toBe('')
  expect(followed.code).toBe(code)
  const log = world.readLog(name)
  expect(lastLine(log)).toBe(`[EXIT: ${code}]`)
  expect(log.endsWith(`\n[EXIT: ${code}]\n`) || log === `[EXIT: ${code}]\n`).toBe(true)
  expect(followed.stdout).toBe(log)
  finishedJobs.set(name, code)
  return log
}

/** Jobs expectExit saw end, with their status: checked against one `orch list --json` afterwards. */
const finishedJobs = new Map<string, number>()

describe.skipIf(NO_SANDBOX).concurrent('exit statuses', () => {
  it('0', async () => {
    const log = await expectExit('exit-0', ['echo hello; echo to-stderr >&2'], 0)
    expect(log).toBe('hello\nto-stderr\n[EXIT: 0]\n')
  })

  it('1 (the script\'s status, not tee\'s or the wrapper\'s)', async () => {
    const log = await expectExit('exit-1', ['echo out; echo err >&2; false'], 1)
    expect(log).toBe('out\nerr\n[EXIT: 1]\n')
  })

  it('3, with output not ending in a newline', async () => {
    const log = await expectExit('exit-3', ['printf partial; exit 3'], 3)
    expect(log).toBe('partial\n[EXIT: 3]\n')
  })

  it('a failing line in the middle does not fail the script without set -e', async () => {
    const log = await expectExit('exit-mid', ['false\necho still-here'], 0)
    expect(log).toBe('still-here\n[EXIT: 0]\n')
  })

  it('set -e stops at the failing line', async () => {
    const log = await expectExit('exit-sete', ['set -e\necho before\nsh -c "exit 4"\necho after'], 4)
    expect(log).toBe('before\n[EXIT: 4]\n')
  })

  it('130: the command interrupts itself (kill -INT $$)', async () => {
    const log = await expectExit('exit-130-self', ['echo going; sleep 1; kill -INT $$; echo not-reached'], 130)
    expect(log).toBe('going\n[EXIT: 130]\n')
  })

  it('130: Ctrl-C typed into the job\'s tmux session', async () => {
    const name = 'exit-130-ctrlc'
    await expectExit(name, ['echo waiting; while :; do sleep 0.2; done'], 130, async () => {
      await world.waitForLog(name, /waiting\n/)
      const sent = await world.tmux(['send-keys', '-t', `=${name}:`, 'C-c'])
      expect(sent.code).toBe(0)
    })
  })

  it('137: the command process killed with kill -9 from outside', async () => {
    const name = 'exit-137'
    const log = await expectExit(name, ['echo "PID=$$"; while :; do sleep 0.2; done'], 137, async () => {
      const text = await world.waitForLog(name, /PID=(\d+)\n/)
      process.kill(Number(/PID=(\d+)/.exec(text)![1]), 'SIGKILL')
    })
    // The wrapper's sh reports the kill ("Killed") as a shell in a terminal would.
    expect(log).toMatch(/^PID=\d+\n(Killed\n)?\[EXIT: 137\]\n$/)
  })

  it('143: the command killed with TERM from outside (not by orch stop) is FAILED', async () => {
    const name = 'exit-143'
    await expectExit(name, ['echo "PID=$$"; while :; do sleep 0.2; done'], 143, async () => {
      const text = await world.waitForLog(name, /PID=(\d+)\n/)
      process.kill(Number(/PID=(\d+)/.exec(text)![1]), 'SIGTERM')
    })
  })

  it('orch run --wait exits with the job\'s status and prints its output', async () => {
    const result = await world.orch(['run', 'exit-wait', '--where', 'cloud', '--wait', '--', 'echo waited; exit 9'])
    expect(result.code).toBe(9)
    expect(result.stdout).toBe('waited\n[EXIT: 9]\n')
  })

  it('orch logs of a finished job prints and exits 0 at once; logs -f exits with its status', async () => {
    await world.runCloud('exit-done', ['exit 6'])
    await world.waitForExit('exit-done')
    const plain = await world.orch(['logs', 'exit-done'])
    expect(plain).toMatchObject({code: 0, stdout: '[EXIT: 6]\n'})
    const followed = await world.orch(['logs', '-f', 'exit-done'])
    expect(followed).toMatchObject({code: 6, stdout: '[EXIT: 6]\n'})
  })
})

const remoteHome = userInfo().homedir

const scriptCases = hostileScripts(remoteHome)

const TAB = '\t'

describe.skipIf(NO_SANDBOX)('exit statuses in orch list --json', () => {
  it('state and exitCode of every job above', async () => {
    expect(finishedJobs.size).toBeGreaterThanOrEqual(9)
    const jobs = await world.list()
    for (const [name, code] of finishedJobs) {
      expect(jobs.find((job) => job.name === name), name).toMatchObject({name, state: code === 0 ? 'DONE' : 'FAILED', exitCode: code, target: 'cloud'})
    }
  })
})

/** `orch run NAME --where cloud --wait -- ...argv`: starts the job and prints its log to the end. */
const runWait = (name: string, argv: readonly string[]) => world.orch(['run', name, '--where', 'cloud', '--wait', '--', ...argv])

describe.skipIf(NO_SANDBOX).concurrent('hostile single-argument scripts arrive byte for byte', () => {
  it.each(scriptCases)('$name', async ({name, script, output}) => {
    const job = `hostile-${name}`
    const followed = await runWait(job, [script])
    expect(followed.code, followed.stderr).toBe(0)
    expect(followed.stdout).toBe(`${output}[EXIT: 0]\n`)
    expect(world.readLog(job)).toBe(`${output}[EXIT: 0]\n`)
    expect(readFileSync(join(world.logRoot, job, 'cmd.sh'))).toEqual(Buffer.from(script))
  })

  it('$HOME expands on the host, not in the local environment', async () => {
    const followed = await runWait('hostile-home-remote', ['echo "$HOME"'])
    expect(followed.stdout).not.toContain(world.home)
    expect(followed.stdout).toBe(`${remoteHome}\n[EXIT: 0]\n`)
  })

  it('a 3,000-line script (~100 kB, near the 128 kB limit of one argument)', async () => {
    const lines = Array.from({length: 3000}, (_, i) => `echo 'line ${i + 1}: $x \`y\`'`)
    const script = lines.join('\n') + '\n'
    const followed = await runWait('hostile-long', [script])
    const expected = Array.from({length: 3000}, (_, i) => `line ${i + 1}: $x \`y\`\n`).join('')
    expect(followed.code).toBe(0)
    expect(followed.stdout).toBe(`${expected}[EXIT: 0]\n`)
    expect(readFileSync(join(world.logRoot, 'hostile-long', 'cmd.sh'), 'utf8')).toBe(script)
  })
})

describe.skipIf(NO_SANDBOX)('large commands travel on stdin, never in an argument', () => {
  // sshd hands the whole remote command line to the login shell as one argument, which Linux caps
  // at 128 KiB: a command, its meta.json and the wrapper must not ride on it. The command reaches
  // orch itself through execve, so the largest one any caller can give is the OS's argument limit
  // (ARG_MAX: 2 MiB with the default 8 MiB stack, at most 6 MiB with an unlimited one; 128 KiB a
  // word): everything up to that runs.
  it('2 MB of command over 20 words (the default ARG_MAX): runs byte for byte, is listed, and its cmd.sh is exact', async () => {
    const words = Array.from({length: 20}, (_, i) => `${i}:${'x'.repeat(100_000)}`)
    const argv = ['printf', '%s\\n', ...words]
    const followed = await runWait('large-command', argv)
    expect(followed.code, followed.stderr).toBe(0)
    expect(followed.stdout).toBe(`${words.join('\n')}\n[EXIT: 0]\n`)
    expect(readFileSync(join(world.logRoot, 'large-command', 'cmd.sh'), 'utf8')).toBe(`printf '%s\\n' ${words.join(' ')}`)
    const listed = (await world.list()).find((job) => job.name === 'large-command')
    expect(listed?.command.length).toBeGreaterThan(2_000_000)
  })

  it('5.5 MB of command (as much as execve takes with an unlimited stack): runs, and its cmd.sh is exact', async () => {
    // 55 words of 100 kB, read from a file by a shell that lifted its stack limit first (this
    // process cannot hand that much to any child).
    const words = Array.from({length: 55}, (_, i) => `${i}:${'y'.repeat(100_000)}`)
    const file = join(world.tmp, 'huge-words')
    writeFileSync(file, `${words.join('\n')}\n`)
    const script = `cd '${world.work}' && ulimit -s unlimited || exit 99; IFS='\n'; set -f; exec "$0" "$1" run huge-command --where cloud --wait -- printf '%s\\n' $(cat '${file}')`
    const result = await exec('sh', ['-c', script, process.execPath, BIN], {env: world.env(), timeoutMs: 120_000})
    expect(result.code, result.stderr.slice(0, 500)).toBe(0)
    // printf is the shell's own: the words are never handed to execve on the host either.
    expect(result.stdout === `${words.join('\n')}\n[EXIT: 0]\n`, result.stdout.slice(0, 300)).toBe(true)
    expect(readFileSync(join(world.logRoot, 'huge-command', 'cmd.sh'), 'utf8')).toBe(`printf '%s\\n' ${words.join(' ')}`)
  })
})

describe.skipIf(NO_SANDBOX)('hostile scripts in orch list --json', () => {
  it('each job\'s command is the script exactly as typed', async () => {
    const jobs = await world.list()
    for (const {name, script} of scriptCases) expect(jobs.find((job) => job.name === `hostile-${name}`)?.command, name).toBe(script)
  })
})

describe.skipIf(NO_SANDBOX).concurrent('multi-argument commands keep every word exactly', () => {
  it('printf with quoted words', async () => {
    const followed = await runWait('words-simple', ['printf', '%s\\n', 'a b', "c'd"])
    // '%s\\n' is the two characters \ n, which printf turns into a newline.
    expect(followed).toMatchObject({code: 0, stdout: "a b\nc'd\n[EXIT: 0]\n"})
  })

  it('hostile words are passed literally, none expanded or split', async () => {
    const words = ['$HOME', '`id`', '$(id)', 'a;b', 'x|y', 'p && q', "it's", '"dq"', `tab${TAB}here`, '日本語 🚀', '-n', '--help', '', ' ', 'back\\slash\\', 'new\nline', '*', '~', '!', '!!', '%s', '%%', '>out', '#hash', '{a,b}', '\\\'']
    const followed = await runWait('words-hostile', ['printf', '[%s]\\n', ...words])
    expect(followed.code).toBe(0)
    expect(followed.stdout).toBe(words.map((word) => `[${word}]\n`).join('') + '[EXIT: 0]\n')
    expect(world.logRootEntries()).not.toContain('out')
  })

  it('a first word starting with - is still the program name', async () => {
    const followed = await runWait('words-dash', ['-definitely-not-a-flag', '--where', 'local'])
    expect(followed.code).toBe(127)
    expect(followed.stdout).toMatch(/-definitely-not-a-flag: (command )?not found\n\[EXIT: 127\]\n$/)
  })

  it('an argument whose words print their own argv', async () => {
    const words = ['one two', "three'four", 'five"six', '$7', '日本']
    const followed = await runWait('words-argv', ['bash', '-c', 'for a in "$@"; do printf "<%s>" "$a"; done; echo', 'argv0', ...words])
    expect(followed).toMatchObject({code: 0, stdout: `${words.map((w) => `<${w}>`).join('')}\n[EXIT: 0]\n`})
  })
})

describe.skipIf(NO_SANDBOX)('100,000 lines of output', () => {
  const expected = Array.from({length: 100_000}, (_, i) => `${i + 1}\n`).join('')

  it('arrive intact in run.log, through orch logs, orch logs -f and orch run --wait', async () => {
    const name = 'big-output'
    // Follow while the output is still being written: half, a pause, the other half.
    const waited = world.spawn(['run', name, '--where', 'cloud', '--wait', '--', 'seq 1 50000; sleep 1; seq 50001 100000'], {timeoutMs: 120_000})
    await waitUntil('the job to start', () => waited.stderrText().includes('attach:'), 60_000)
    const followed = world.spawn(['logs', '-f', name], {timeoutMs: 120_000})
    const [waitResult, followResult] = await Promise.all([waited.output, followed.output])
    expect(waitResult.code).toBe(0)
    expect(waitResult.stdout === `${expected}[EXIT: 0]\n`).toBe(true)
    expect(followResult.code).toBe(0)
    expect(followResult.stdout === `${expected}[EXIT: 0]\n`).toBe(true)
    expect(world.readLog(name) === `${expected}[EXIT: 0]\n`).toBe(true)
    const plain = await world.orch(['logs', name], {timeoutMs: 120_000})
    expect(plain.code).toBe(0)
    expect(plain.stdout === `${expected}[EXIT: 0]\n`).toBe(true)
    const tail = await world.orch(['logs', name, '--tail', '3'])
    expect(tail.stdout).toBe('99999\n100000\n[EXIT: 0]\n')
  })
})

describe.skipIf(NO_SANDBOX)('the client killed mid-run', () => {
  /** A job that prints steps 1-3, waits for a flag file the test creates, then prints steps 4-6. */
  const gated = (flag: string) => `for i in 1 2 3; do echo "step $i"; done; while [ ! -e '${flag}' ]; do sleep 0.1; done; for i in 4 5 6; do echo "step $i"; sleep 0.2; done`
  const gatedOutput = 'step 1\nstep 2\nstep 3\nstep 4\nstep 5\nstep 6\n[EXIT: 0]\n'

  it('orch run --wait killed with SIGKILL: the job finishes anyway, DONE with its full output', async () => {
    const name = 'client-killed'
    const flag = join(world.tmp, `${name}.go`)
    const waited = world.spawn(['run', name, '--where', 'cloud', '--wait', '--', gated(flag)])
    await waitUntil('the job output to stream', () => waited.stdoutText().includes('step 3\n'), 60_000)
    waited.kill('SIGKILL')
    const killed = await waited.output
    expect(killed.signal).toBe('SIGKILL')
    expect((await world.job(name))?.state).toBe('RUNNING')
    writeFileSync(flag, '')
    await world.waitForExit(name)
    expect(await world.job(name)).toMatchObject({state: 'DONE', exitCode: 0})
    expect(world.readLog(name)).toBe(gatedOutput)
    expect((await world.orch(['logs', name])).stdout).toBe(gatedOutput)
  })

  it('orch logs -f interrupted with Ctrl-C (SIGINT) stops reading only', async () => {
    const name = 'logs-interrupted'
    const flag = join(world.tmp, `${name}.go`)
    await world.runCloud(name, [gated(flag)])
    const follow = world.spawn(['logs', '-f', name])
    await waitUntil('output', () => follow.stdoutText().includes('step 3\n'), 60_000)
    follow.kill('SIGINT')
    const interrupted = await follow.output
    expect(interrupted.code).toBe(130)
    expect((await world.job(name))?.state).toBe('RUNNING')
    writeFileSync(flag, '')
    await world.waitForExit(name)
    expect(await world.job(name)).toMatchObject({state: 'DONE', exitCode: 0})
    expect(world.readLog(name)).toBe(gatedOutput)
  })
})

describe.skipIf(NO_SANDBOX)('one name, two runs', () => {
  it('two concurrent orch run with one name: exactly one starts, the other exits 5 with one line', async () => {
    for (const round of [1, 2]) {
      const name = `race-${round}`
      const runs = [0, 1, 2].map(() => world.orch(['run', name, '--where', 'cloud', '--', 'echo "winner"; sleep 3']))
      const results = await Promise.all(runs)
      const codes = results.map((r) => r.code).sort()
      expect(codes, JSON.stringify(results.map((r) => r.stderr))).toEqual([0, 5, 5])
      for (const loser of results.filter((r) => r.code === 5)) {
        expect(stderrLines(loser)).toHaveLength(1)
        expect(loser.stderr).toMatch(new RegExp(`^orch: job name ${name} is in use by a job that has not finished — `))
        expect(loser.stdout).toBe('')
      }
      const followed = await world.orch(['logs', '-f', name])
      expect(followed).toMatchObject({code: 0, stdout: 'winner\n[EXIT: 0]\n'})
    }
  })

  it('a running name is refused (exit 5), even with --replace', async () => {
    await world.runCloud('busy', ['sleep 30'])
    const again = await world.orch(['run', 'busy', '--where', 'cloud', '--', 'echo second'])
    expect(again.code).toBe(5)
    expect(stderrLines(again)).toHaveLength(1)
    const replace = await world.orch(['run', 'busy', '--where', 'cloud', '--replace', '--', 'echo second'])
    expect(replace.code).toBe(5)
    expect((await world.job('busy'))?.state).toBe('RUNNING')
    expect((await world.orch(['stop', 'busy', '--grace', '1'])).code).toBe(0)
  })

  it('re-running a finished name exits 5 and keeps its log; --replace runs it afresh', async () => {
    const name = 'rerun'
    await world.runCloud(name, ['echo first; exit 2'])
    expect((await world.orch(['logs', '-f', name])).code).toBe(2)
    const again = await world.orch(['run', name, '--where', 'cloud', '--', 'echo second'])
    expect(again.code).toBe(5)
    expect(stderrLines(again)).toHaveLength(1)
    expect(again.stderr).toMatch(/already ran.*--replace/)
    expect(world.readLog(name)).toBe('first\n[EXIT: 2]\n')
    await world.runCloud(name, ['echo second'], ['--replace'])
    expect(await world.orch(['logs', '-f', name])).toMatchObject({code: 0, stdout: 'second\n[EXIT: 0]\n'})
    expect(await world.job(name)).toMatchObject({state: 'DONE', exitCode: 0, command: 'echo second'})
    expect(world.logRootEntries().filter((entry) => entry.includes(name))).toEqual([name])
  })

  it('two concurrent --replace of one finished name: exactly one starts, nothing left behind (cloud and local)', async () => {
    for (const [where, root] of [['cloud', world.logRoot], ['local', world.localLogRoot]] as const) {
      for (const round of [1, 2]) {
        const name = `race-replace-${where}-${round}`
        expect((await world.orch(['run', name, '--where', where, '--', 'echo old'])).code).toBe(0)
        await world.waitForExit(name, root)
        const results = await Promise.all([0, 1, 2].map((i) => world.orch(['run', name, '--where', where, '--replace', '--', `echo "new ${i}"; sleep 1`])))
        const codes = results.map((r) => r.code).sort()
        expect(codes, JSON.stringify(results.map((r) => r.stderr))).toEqual([0, 5, 5])
        const winner = results.findIndex((r) => r.code === 0)
        expect(await world.waitForExit(name, root)).toBe(`new ${winner}\n[EXIT: 0]\n`)
        expect(readdirSync(root).filter((entry) => entry.includes(name))).toEqual([name])
      }
    }
  })
})

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/
const KEYS = ['command', 'endedAt', 'exitCode', 'host', 'logPath', 'name', 'startedAt', 'state', 'target']

describe.skipIf(NO_SANDBOX)('orch status --json and orch list --json', () => {
  it('an array of {name,state,target,host,command,startedAt,endedAt,exitCode,logPath}, local jobs included', async () => {
    await world.runCloud('shape-running', ['sleep 30'])
    await world.runCloud('shape-done', ['echo done'])
    await world.waitForExit('shape-done')
    const local = await world.orch(['run', 'shape-local', '--where', 'local', '--', 'echo local-out; exit 4'])
    expect(local.code).toBe(4)
    expect(local.stdout).toContain('local-out\n')
    expect(readFileSync(join(world.localLogRoot, 'shape-local', 'run.log'), 'utf8')).toBe('local-out\n[EXIT: 4]\n')

    const status = await world.orch(['status', '--json'])
    expect(status.code).toBe(0)
    const unfinished = JSON.parse(status.stdout) as Array<Record<string, unknown>>
    expect(Array.isArray(unfinished)).toBe(true)
    const running = unfinished.find((job) => job.name === 'shape-running')
    expect(running).toBeDefined()
    expect(Object.keys(running!)).toEqual(expect.arrayContaining(KEYS))
    expect(running).toMatchObject({state: 'RUNNING', target: 'cloud', command: 'sleep 30', endedAt: null, exitCode: null, logPath: join(world.logRoot, 'shape-running', 'run.log')})
    expect(running!.host).toContain(`[127.0.0.1]:${world.sandbox.port}`)
    expect(running!.startedAt).toMatch(ISO)
    for (const job of unfinished) expect(['QUEUED', 'STARTING', 'RUNNING']).toContain(job.state)
    expect(unfinished.map((job) => job.name)).not.toContain('shape-done')
    expect(unfinished.map((job) => job.name)).not.toContain('shape-local')

    const list = await world.orch(['list', '--json'])
    expect(list.code).toBe(0)
    const all = JSON.parse(list.stdout) as Array<Record<string, unknown>>
    for (const job of all) {
      expect(Object.keys(job)).toEqual(expect.arrayContaining(KEYS))
      expect(job.startedAt === null || ISO.test(String(job.startedAt))).toBe(true)
      expect(job.endedAt === null || ISO.test(String(job.endedAt))).toBe(true)
      expect(job.exitCode === null || Number.isInteger(job.exitCode)).toBe(true)
      expect(['QUEUED', 'STARTING', 'RUNNING', 'DONE', 'FAILED', 'STOPPED']).toContain(job.state)
    }
    const started = all.map((job) => String(job.startedAt ?? ''))
    expect([...started].sort().reverse()).toEqual(started)
    expect(all.find((job) => job.name === 'shape-done')).toMatchObject({state: 'DONE', exitCode: 0, target: 'cloud'})
    const localJob = all.find((job) => job.name === 'shape-local')
    expect(localJob).toMatchObject({state: 'FAILED', exitCode: 4, target: 'local', host: 'local', command: 'echo local-out; exit 4', logPath: join(world.localLogRoot, 'shape-local', 'run.log')})
    expect(localJob!.endedAt).toMatch(ISO)

    const localOnly = JSON.parse((await world.orch(['list', '--json', '--where', 'local'])).stdout) as Array<{target: string}>
    expect(localOnly.length).toBeGreaterThan(0)
    expect(localOnly.every((job) => job.target === 'local')).toBe(true)
    const cloudOnly = JSON.parse((await world.orch(['list', '--json', '--where', 'cloud'])).stdout) as Array<{target: string}>
    expect(cloudOnly.every((job) => job.target === 'cloud')).toBe(true)
    expect(cloudOnly.length + localOnly.length).toBe(all.length)

    // Human output: a table on stdout, nothing on stderr when not a terminal.
    const human = await world.orch(['status'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/shape-running\s+RUNNING/)
    expect(await world.orch(['stop', 'shape-running', '--grace', '1'])).toMatchObject({code: 0})
  })

  it('orch run --json prints {name, target, host, state, logPath, reasons}', async () => {
    const result = await world.orch(['run', 'run-json', '--where', 'cloud', '--json', '--', 'echo json'])
    expect(result.code).toBe(0)
    const doc = JSON.parse(result.stdout) as Record<string, unknown>
    expect(doc).toMatchObject({name: 'run-json', target: 'cloud', state: 'RUNNING', logPath: join(world.logRoot, 'run-json', 'run.log')})
    expect(Array.isArray(doc.reasons)).toBe(true)
    expect(String(doc.host)).toContain('127.0.0.1')
  })
})
