/**
 * A full log disk (issue 11.2), against the real sshd and tmux: a 5 MB tmpfs mounted over the test
 * host's log root (root only: skipped with a printed reason otherwise).
 * (a) A job writing far more than fits keeps its real exit status: `run --wait` exits with it, its
 *     follower sees an explicit marker where output was lost, and `list --json` reports it with
 *     reason "log-write-failed".
 * (b) A job started on the full disk is refused before it is reported started, with one line
 *     (disk full on HOST at PATH, what to do); it leaves no directory and no queue ticket, and
 *     once space is back the next job runs at once (nothing wedged in QUEUED).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {OrchWorld, lastLine, logRootEntries, waitUntil} from './helpers/orch-cli.js'

const isRoot = process.getuid?.() === 0
let world: OrchWorld
let mounted = false

beforeAll(async () => {
  if (!isRoot) {
    console.log('full-disk tests skipped: mounting a tmpfs needs root')
    return
  }
  world = await OrchWorld.start()
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=5m,mode=0755', 'orch-full-disk', world.logRoot], {encoding: 'utf8'})
  if (mount.status !== 0) {
    console.log(`full-disk tests skipped: mount failed: ${mount.stderr.trim()}`)
    return
  }
  mounted = true
})

afterAll(async () => {
  if (mounted) {
    // The wrappers of finished jobs are gone; a lazy unmount never blocks on a stray reader.
    spawnSync('umount', ['-l', world.logRoot])
  }
  await world?.cleanup()
})

describe('a full log disk', {timeout: 240_000}, () => {
  it('(a) a job writing 20 MB into 5 MB: real exit status, a marker where output was lost, reason log-write-failed', async (context) => {
    if (!mounted) return context.skip()
    const env = {ORCH_MAX_PARALLEL: '2'}
    // 20 MB of numbered lines, then the command's own status: 0.
    const waited = await world.orch(['run', 'fills-disk', '--where', 'cloud', '--wait', '--', 'seq 1 2600000; exit 0'], {env, timeoutMs: 180_000})
    expect(waited.code, waited.stderr).toBe(0)
    expect(waited.stdout).toMatch(/\n\[orch: output lost from here: run\.log could not be written on the host \(disk full\?\)\]\n\[EXIT: 0\]\n$/)
    expect(await world.job('fills-disk')).toMatchObject({state: 'DONE', exitCode: 0, reason: 'log-write-failed'})

  })

  it('(b) starting on a full disk: refused with one line before it is reported started; no ticket, no directory; later jobs run', async (context) => {
    if (!mounted) return context.skip()
    const env = {ORCH_MAX_PARALLEL: '2'}
    const before = logRootEntries(world.logRoot)
    const refused = await world.orch(['run', 'no-room', '--where', 'cloud', '--', 'echo never'], {env, timeoutMs: 60_000})
    expect(refused.code, refused.stdout + refused.stderr).toBe(8)
    expect(refused.stdout).not.toMatch(/RUNNING|STARTING/)
    const lines = refused.stderr.split('\n').filter((line) => line.trim() !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`disk full on \\S+ at ${world.logRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/no-room\\S*: no-room was not started — free space`))
    expect(logRootEntries(world.logRoot)).toEqual(before)
    const queue = join(world.logRoot, '.orch-queue')
    expect(existsSync(queue) ? readdirSync(queue).filter((entry) => entry.startsWith('ticket-')) : []).toEqual([])
    // list and status still answer on the full disk.
    expect((await world.list()).map((job) => job.name)).not.toContain('no-room')
    const status = await world.orch(['status', '--json'])
    expect(status.code, status.stderr).toBe(0)

    // Space comes back: the next job starts at once and is not held QUEUED.
    rmSync(join(world.logRoot, 'fills-disk', 'run.log'))
    const started = Date.now()
    const next = await world.orch(['run', 'after-space', '--where', 'cloud', '--wait', '--', 'echo back'], {env, timeoutMs: 60_000})
    expect(next.code, next.stderr).toBe(0)
    expect(next.stdout).toBe('back\n[EXIT: 0]\n')
    expect(Date.now() - started).toBeLessThan(20_000)
    await waitUntil('after-space to be listed DONE', async () => (await world.job('after-space'))?.state === 'DONE', 20_000)
    expect(lastLine(world.readLog('after-space'))).toBe('[EXIT: 0]')
  })
})
