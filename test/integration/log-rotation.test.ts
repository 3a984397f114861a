/**
 * --max-log-size under a fast writer (issue 11.7), against the real sshd and tmux: 600,000 numbered
 * lines through a 1 MB cap. Followers attached before the output starts (`run --wait` and two
 * `logs -f`, one of them suspended for 4 s mid-stream) receive every line, in order, with nothing
 * skipped; on the host, run.log and the one kept run.log.1 stay within the cap.
 */
import {statSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseSize} from '../../src/config/units.js'
import {OrchWorld, sleep, waitUntil} from './helpers/orch-cli.js'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

let world: OrchWorld

beforeAll(async () => {
  world = await OrchWorld.start()
})

afterAll(async () => {
  await world?.cleanup()
})

const LINES = 600_000

/** The numbered lines of a follower's output, in the order received (orch's own [orch: …] lines left out). */
function numbers(stdout: string): {seq: number[]; other: string[]} {
  const seq: number[] = []
  const other: string[] = []
  for (const line of stdout.split('\n')) {
    if (/^\d+$/.test(line)) seq.push(Number(line))
    else if (line !== '') other.push(line)
  }
  return {seq, other}
}

function expectEveryLine(stdout: string, who: string): void {
  const {seq, other} = numbers(stdout)
  let firstGap = -1
  for (let i = 0; i < seq.length; i++) {
    if (seq[i] !== i + 1) {
      firstGap = i
      break
    }
  }
  expect(firstGap, `${who}: line ${firstGap + 1} is ${seq[firstGap]}`).toBe(-1)
  expect(seq.length, who).toBe(LINES)
  expect(other.every((line) => line.startsWith('[orch: log passed 1048576 bytes') || line === '[EXIT: 0]'), `${who}: ${other.slice(0, 5).join(' | ')}`).toBe(true)
  expect(other.at(-1)).toBe('[EXIT: 0]')
}

describe('rotation under a fast writer', {timeout: 240_000}, () => {
  it('--max-log-size 1M, 600,000 lines: run --wait, logs -f and a logs -f stalled for 4 s get every line in order; the host keeps the cap', async () => {
    const name = 'rotating'
    const cap = parseSize('1M')!
    // The pause lets both followers attach before the output starts.
    const waited = world.spawn(['run', name, '--where', 'cloud', '--max-log-size', '1M', '--wait', '--', `sleep 3; seq 1 ${LINES}`], {timeoutMs: 200_000})
    await waitUntil(`${name}'s wrapper`, () => existsSync(join(world.logRoot, name, 'pid')), 30_000)
    const follower = world.spawn(['logs', '-f', name], {timeoutMs: 200_000})
    // A reader that stalls (a suspended client, a slow link) for a few seconds mid-stream: the
    // rotations wait for it rather than drop a part it has not read.
    const stalled = world.spawn(['logs', '-f', name], {timeoutMs: 200_000})
    let stall: Promise<void> | undefined
    let largest = 0
    let largestOld = 0
    while (!existsSync(join(world.logRoot, name, 'exit'))) {
      try {
        largest = Math.max(largest, statSync(world.runLogPath(name)).size)
        largestOld = Math.max(largestOld, statSync(`${world.runLogPath(name)}.1`).size)
      } catch {}
      if (!stall && stalled.stdoutText().includes('\n50000\n')) {
        stalled.kill('SIGSTOP')
        stall = sleep(4000).then(() => {
          stalled.kill('SIGCONT')
        })
      }
      await sleep(20)
    }
    const [w, f, s] = await Promise.all([waited.output, follower.output, stalled.output, stall])
    expect(stall, 'the stalled follower was never stopped').toBeDefined()
    expect(w.code, w.stderr).toBe(0)
    expect(f.code, f.stderr).toBe(0)
    expect(s.code, s.stderr).toBe(0)
    expectEveryLine(w.stdout, 'run --wait')
    expectEveryLine(f.stdout, 'logs -f')
    expectEveryLine(s.stdout, 'logs -f, stalled for 4 s')
    // Held exactly: a part is rotated when it reaches the cap, never later.
    const marker = '[orch: log passed 1048576 bytes; earlier output moved to run.log.1]\n'.length
    expect(largest).toBeLessThanOrEqual(cap + marker + '[EXIT: 0]\n'.length)
    expect(largestOld).toBeLessThanOrEqual(cap + marker)
    console.log(`largest run.log ${largest} bytes, largest run.log.1 ${largestOld} bytes (cap ${cap})`)
  })
})
