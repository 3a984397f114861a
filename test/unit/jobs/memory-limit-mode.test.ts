/**
 * How the wrapper decides who holds --max-memory (src/jobs/sh/orch-wrapper.sh memory_limit_mode):
 * the kernel, through a systemd user scope on cgroup v2, or the wrapper's own RSS monitor, with the
 * reason. This machine's CI has no systemd user manager, so each step of the decision is run here
 * against a cgroup tree and systemd-run/systemctl of the test's own: real sh, the function's own
 * text, nothing else of the wrapper.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

const wrapper = readFileSync(new URL('../../../src/jobs/sh/orch-wrapper.sh', import.meta.url), 'utf8')
const decision = /\nmemory_limit_mode\(\) \{\n[\s\S]*?\n\}\n/.exec(wrapper)![0]
const scratch = mkdtempSync(join(tmpdir(), 'orch-memory-mode-'))
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

let cases = 0
/** A fresh world: a cgroup root, a bin dir (only what the function needs, plus the fakes), a log of systemd-run's arguments. */
function world(options: {v2?: boolean; tools?: boolean; userManager?: string; controllers?: string; trial?: number}) {
  const dir = join(scratch, String(++cases))
  const root = join(dir, 'cgroup')
  const bin = join(dir, 'bin')
  mkdirSync(root, {recursive: true})
  mkdirSync(bin)
  for (const tool of ['grep']) symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).stdout.trim(), join(bin, tool))
  if (options.v2) writeFileSync(join(root, 'cgroup.controllers'), 'cpu io memory pids\n')
  if (options.userManager !== undefined && options.controllers !== undefined) {
    mkdirSync(join(root, options.userManager), {recursive: true})
    writeFileSync(join(root, options.userManager, 'cgroup.controllers'), options.controllers)
  }
  const calls = join(dir, 'systemd-run.calls')
  if (options.tools) {
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\n[ "$*" = "--user show -p ControlGroup --value" ] || exit 9\n${options.userManager === undefined ? 'exit 1' : `echo '${options.userManager}'`}\n`)
    writeFileSync(join(bin, 'systemd-run'), `#!/bin/sh\necho "$*" >> '${calls}'\nexit ${options.trial ?? 0}\n`)
    chmodSync(join(bin, 'systemctl'), 0o755)
    chmodSync(join(bin, 'systemd-run'), 0o755)
  }
  const run = spawnSync('/bin/sh', ['-c', `${decision}\ncgroup_root='${root}'\nmemory_limit_mode`], {encoding: 'utf8', env: {PATH: bin}})
  let trials = ''
  try {
    trials = readFileSync(calls, 'utf8')
  } catch {}
  return {answer: run.stdout, status: run.status, root, trials}
}

describe('--max-memory: cgroup or monitor', () => {
  it('cgroup v1 or none (this machine): the monitor', () => {
    const {answer, root} = world({tools: true, userManager: '/user.slice/user-1000.slice/user@1000.service', controllers: 'memory\n'})
    expect(answer).toBe(`monitor: no cgroup v2 at ${root}\n`)
  })
  it('cgroup v2 without systemd-run: the monitor', () => {
    expect(world({v2: true}).answer).toBe('monitor: systemd-run is not installed\n')
  })
  it('no user manager to ask: the monitor', () => {
    expect(world({v2: true, tools: true}).answer).toBe('monitor: no systemd user manager (systemctl --user)\n')
  })
  it('the memory controller not delegated to the user: the monitor', () => {
    const user = '/user.slice/user-1000.slice/user@1000.service'
    expect(world({v2: true, tools: true, userManager: user, controllers: 'cpu pids\n'}).answer).toBe(`monitor: the memory controller is not delegated to ${user}\n`)
  })
  it('a trial scope refused (an old systemd without OOMPolicy for scopes): the monitor', () => {
    const {answer, trials} = world({v2: true, tools: true, userManager: '/u', controllers: 'cpu memory pids\n', trial: 1})
    expect(answer).toBe('monitor: systemd-run --user --scope refused a trial\n')
    expect(trials).toBe('--user --scope --quiet -p MemoryMax=64M -p OOMPolicy=kill true\n')
  })
  it('all there: the kernel holds it (cgroup)', () => {
    const {answer, trials} = world({v2: true, tools: true, userManager: '/u', controllers: 'cpu memory pids\n'})
    expect(answer).toBe('cgroup\n')
    expect(trials).toBe('--user --scope --quiet -p MemoryMax=64M -p OOMPolicy=kill true\n')
  })
})
