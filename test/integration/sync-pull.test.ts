/**
 * `orch run --sync` and `orch pull` against a real OpenSSH server and tmux (the built CLI; run
 * `npm run build` first). The "host" is this machine, so the tests look at the copy directly:
 * every remote directory is inside the sandbox's home (--remote-dir), never the real ~/work.
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {OrchWorld, type Result, waitUntil} from './helpers/orch-cli.js'
import {SANDBOX_TOOLS, skipWithout} from '../helpers/requirements.js'

const NO_SANDBOX = skipWithout('the sync and pull integration tests', SANDBOX_TOOLS)

let world: OrchWorld

beforeAll(async () => {
  world = await OrchWorld.start()
})

afterAll(async () => {
  await world?.cleanup()
})

interface SyncJson {
  name: string
  state: string
  sync?: {files: number; bytes: number; deleted: number; remoteDir: string}
}

const ODD_NAMES = ['a file with spaces.txt', `quote's "double".txt`, 'new\nline.txt', 'ünïcødé-日本語.txt', `${'d'.repeat(60)}/${'e'.repeat(60)}/long-${'f'.repeat(80)}.txt`]

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {cwd, encoding: 'utf8', env: {...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t'}})
}

/** A fresh local project; `files` maps paths to contents. */
function project(name: string, files: Record<string, string>, options: {git?: boolean} = {}): string {
  const dir = join(world.tmp, name)
  mkdirSync(dir, {recursive: true})
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), {recursive: true})
    writeFileSync(join(dir, path), content)
  }
  if (options.git !== false) {
    git(dir, 'init', '-q')
    git(dir, 'add', '-A')
    git(dir, 'commit', '-qm', 'start')
  }
  return dir
}

const remoteDirFor = (name: string) => join(world.sandbox.home, 'work', name)

function expectOk(result: Result, what: string): void {
  if (result.code !== 0) throw new Error(`${what} exited ${String(result.code)}: ${result.stderr}`)
}

async function syncRun(name: string, dir: string, remoteDir: string, command: string, extra: readonly string[] = [], cwd = dir): Promise<SyncJson> {
  const result = await world.orch(['run', name, '--where', 'cloud', '--sync', '--remote-dir', remoteDir, ...extra, '--json', '--', command], {cwd, timeoutMs: 120_000})
  expectOk(result, `orch run ${name} --sync`)
  expect(result.stderr).toMatch(/^synced \d+ files? \(/m)
  return JSON.parse(result.stdout) as SyncJson
}

interface Node {
  type: 'f' | 'l' | 'd'
  mode?: number
  mtime?: number
  content?: string
  target?: string
}

/** Every entry under dir (not following symlinks), with what a sync must keep. */
function snapshot(dir: string, skip: (path: string) => boolean = () => false): Map<string, Node> {
  const out = new Map<string, Node>()
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name
      if (skip(path)) continue
      const abs = join(dir, path)
      const info = lstatSync(abs)
      if (info.isSymbolicLink()) out.set(path, {type: 'l', target: readlinkSync(abs)})
      else if (info.isDirectory()) {
        out.set(path, {type: 'd'})
        walk(path)
      } else out.set(path, {type: 'f', mode: info.mode & 0o777, mtime: Math.floor(info.mtimeMs / 1000), content: readFileSync(abs, 'latin1')})
    }
  }
  walk('')
  return out
}

const fileCount = (tree: Map<string, Node>) => [...tree.values()].filter((node) => node.type !== 'd').length
const byteCount = (tree: Map<string, Node>) => [...tree.values()].reduce((sum, node) => sum + (node.type === 'f' ? Buffer.byteLength(node.content!, 'latin1') : 0), 0)

describe.skipIf(NO_SANDBOX).concurrent('orch run --sync', () => {
  it('mirrors a git work tree (odd names, exec bit, symlink, .git; ignored build/ stays), then sends only changes', {timeout: 240_000}, async () => {
    const files: Record<string, string> = {'.gitignore': 'build/\n*.log\n', '.orchignore': 'notes-not-for-host.txt\n', 'run.sh': '#!/bin/sh\necho "ran from $(pwd)"\n', 'sub/inner.txt': 'inner\n', 'edit-me.txt': 'v1\n', 'delete-me.txt': 'bye\n'}
    for (const [i, name] of ODD_NAMES.entries()) files[name] = `odd ${i}\n`
    const dir = project('proj-a', files)
    chmodSync(join(dir, 'run.sh'), 0o755)
    git(dir, 'add', '-A')
    git(dir, 'commit', '-qm', 'exec bit')
    symlinkSync('run.sh', join(dir, 'link-to-run'))
    writeFileSync(join(dir, 'untracked but not ignored.txt'), 'untracked\n')
    writeFileSync(join(dir, 'notes-not-for-host.txt'), 'private\n')
    mkdirSync(join(dir, 'build'))
    writeFileSync(join(dir, 'build', 'huge.bin'), 'x'.repeat(100_000))
    writeFileSync(join(dir, 'debug.log'), 'ignored\n')
    const remote = remoteDirFor('proj-a')

    // 1. First sync: everything git counts as the tree, plus .git; the job runs in the copy.
    const first = await syncRun('sync-a1', dir, remote, './run.sh; echo made-by-job > job-output.txt')
    expect(first.sync).toMatchObject({deleted: 0, remoteDir: remote})
    const excluded = (path: string) => path === 'build' || path.startsWith('build/') || path === 'debug.log' || path === 'notes-not-for-host.txt'
    const local = snapshot(dir, excluded)
    await world.waitForState('sync-a1', ['DONE'])
    const there = snapshot(remote, (path) => path === 'job-output.txt')
    expect([...there.keys()].sort()).toEqual([...local.keys()].sort())
    for (const [path, node] of local) expect(there.get(path), path).toEqual(node)
    expect(there.get('run.sh')?.mode).toBe(0o755)
    expect(there.get('link-to-run')).toEqual({type: 'l', target: 'run.sh'})
    expect(existsSync(join(remote, 'build'))).toBe(false)
    expect(first.sync!.files).toBe(fileCount(local))
    expect(first.sync!.bytes).toBe(byteCount(local))
    expect(world.readLog('sync-a1')).toBe(`ran from ${remote}\n[EXIT: 0]\n`)
    expect(git(remote, 'rev-parse', 'HEAD')).toBe(git(dir, 'rev-parse', 'HEAD'))

    // 2. Edit one file, delete another: only those travel; the job's own output survives.
    writeFileSync(join(dir, 'edit-me.txt'), 'v2, longer\n')
    rmSync(join(dir, 'delete-me.txt'))
    const second = await syncRun('sync-a2', dir, remote, 'cat edit-me.txt')
    expect(second.sync).toEqual({files: 1, bytes: Buffer.byteLength('v2, longer\n'), deleted: 1, remoteDir: remote})
    expect(readFileSync(join(remote, 'edit-me.txt'), 'utf8')).toBe('v2, longer\n')
    expect(existsSync(join(remote, 'delete-me.txt'))).toBe(false)
    expect(readFileSync(join(remote, 'job-output.txt'), 'utf8')).toBe('made-by-job\n')

    // 3. Nothing changed: nothing travels; started inside sub/, the job runs in the copy's sub/.
    const third = await syncRun('sync-a3', dir, remote, 'pwd', [], join(dir, 'sub'))
    expect(third.sync).toEqual({files: 0, bytes: 0, deleted: 0, remoteDir: remote})
    await world.waitForState('sync-a3', ['DONE'])
    expect(world.readLog('sync-a3')).toBe(`${remote}/sub\n[EXIT: 0]\n`)

    // 4. A job name in use is refused before the copy changes.
    writeFileSync(join(dir, 'edit-me.txt'), 'v3\n')
    const taken = await world.orch(['run', 'sync-a3', '--where', 'cloud', '--sync', '--remote-dir', remote, '--', 'true'], {cwd: dir})
    expect(taken.code).toBe(5)
    expect(taken.stderr).toMatch(/already ran/)
    expect(readFileSync(join(remote, 'edit-me.txt'), 'utf8')).toBe('v2, longer\n')
  })

  it('outside git: --sync alone mirrors the current directory minus .orchignore, empty directories too', {timeout: 120_000}, async () => {
    const dir = project('plain-b', {'.orchignore': '*.tmp\ncache/\n!keep.tmp\n', 'main.py': 'print(1)\n', 'keep.tmp': 'kept\n', 'scratch.tmp': 'not sent\n', 'cache/blob': 'not sent\n', 'pkg/mod.py': 'x = 1\n'}, {git: false})
    mkdirSync(join(dir, 'empty-dir'))
    const remote = remoteDirFor('plain-b')
    const json = await syncRun('sync-b', dir, remote, 'ls')
    const there = snapshot(remote)
    expect([...there.keys()].sort()).toEqual(['.orchignore', 'empty-dir', 'keep.tmp', 'main.py', 'pkg', 'pkg/mod.py'])
    expect(json.sync).toMatchObject({files: 4, deleted: 0})
  })

  it('a sync cut off mid-transfer leaves the previous copy as it was and starts no job', {timeout: 240_000}, async () => {
    const dir = project('proj-c', {'zzz-small.txt': 'v1\n'})
    const remote = remoteDirFor('proj-c')
    await syncRun('sync-c1', dir, remote, 'true')
    writeFileSync(join(dir, 'zzz-small.txt'), 'v2\n')
    // A big (sparse) file first in the stream, so there is time to cut the transfer.
    execFileSync('truncate', ['-s', '1500M', join(dir, 'aaa-big.bin')])
    const staging = join(world.sandbox.home, 'work', '.proj-c.orch-sync')
    const child = world.spawn(['run', 'sync-c2', '--where', 'cloud', '--sync', '--remote-dir', remote, '--', 'echo should-not-run'], {cwd: dir, timeoutMs: 120_000})
    await waitUntil('the transfer to start', () => existsSync(join(staging, 'incoming', 'tree', 'aaa-big.bin')), 60_000, 20)
    child.kill('SIGKILL')
    await child.output
    // The host's side notices the cut, cleans up and lets go of the lock.
    await waitUntil('the host to clean up', () => !existsSync(join(staging, 'lock')) && !existsSync(join(staging, 'incoming')), 60_000)
    expect(readFileSync(join(remote, 'zzz-small.txt'), 'utf8')).toBe('v1\n')
    expect(existsSync(join(remote, 'aaa-big.bin'))).toBe(false)
    expect(world.logRootEntries()).not.toContain('sync-c2')
    // The next sync brings everything.
    rmSync(join(dir, 'aaa-big.bin'))
    const retry = await syncRun('sync-c3', dir, remote, 'cat zzz-small.txt')
    expect(retry.sync).toMatchObject({files: 1, deleted: 0})
    expect(readFileSync(join(remote, 'zzz-small.txt'), 'utf8')).toBe('v2\n')
  })

  it('refuses bad input before touching the host', async () => {
    const missing = await world.orch(['run', 'sync-bad', '--where', 'cloud', '--sync', join(world.tmp, 'no-such-dir'), '--', 'true'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/no such directory/)
    const root = await world.orch(['run', 'sync-bad', '--where', 'cloud', '--sync', '--remote-dir', '/', '--', 'true'])
    expect(root.code).toBe(2)
    const noSync = await world.orch(['run', 'sync-bad', '--where', 'cloud', '--remote-dir', '~/x', '--', 'true'])
    expect(noSync.code).toBe(2)
    expect(noSync.stderr).toMatch(/--remote-dir needs --sync/)
    const badArtifact = await world.orch(['run', 'sync-bad', '--where', 'cloud', '--artifacts', '../x', '--', 'true'])
    expect(badArtifact.code).toBe(2)
    expect(world.logRootEntries()).not.toContain('sync-bad')
  })
})

describe.skipIf(NO_SANDBOX).concurrent('orch pull', () => {
  /** A finished cloud job that made results in its own working directory. */
  async function jobWithResults(name: string, extra: readonly string[] = []): Promise<string> {
    const cwd = join(world.sandbox.home, 'jobs', name)
    mkdirSync(cwd, {recursive: true})
    const script = [
      'mkdir -p out "with space"',
      'echo a > out/a.txt',
      'echo b > out/b.txt',
      'echo c > out/c.log',
      'printf model > model.bin',
      'echo spaced > "with space/x y.txt"',
      'echo result lines',
    ].join('; ')
    await world.runCloud(name, [script], ['--cwd', cwd, ...extra])
    await world.waitForState(name, ['DONE'])
    return cwd
  }

  it('downloads the log directory and the declared --artifacts into ./orch-results/NAME/', {timeout: 120_000}, async () => {
    await jobWithResults('pull-a', ['--artifacts', 'out/*.txt', '--artifacts', 'model.bin', '--env', 'PULL_SECRET=hunter2-pull'])
    const here = join(world.tmp, 'pull-a-here')
    mkdirSync(here)
    const result = await world.orch(['pull', 'pull-a', '--json'], {cwd: here})
    expectOk(result, 'orch pull')
    const report = JSON.parse(result.stdout) as {to: string; log: {files: number}; files: {files: number; bytes: number}; patterns: string[]; missing: string[]}
    const to = join(here, 'orch-results', 'pull-a')
    expect(report).toMatchObject({to, files: {files: 3, bytes: 2 + 2 + 5}, patterns: ['out/*.txt', 'model.bin'], missing: []})
    expect(readFileSync(join(to, 'log', 'run.log'), 'utf8')).toBe(world.readLog('pull-a'))
    expect(readFileSync(join(to, 'files', 'out', 'a.txt'), 'utf8')).toBe('a\n')
    expect(readFileSync(join(to, 'files', 'model.bin'), 'utf8')).toBe('model')
    expect(existsSync(join(to, 'files', 'out', 'c.log'))).toBe(false)
    expect(readdirSync(join(to, 'log'))).toContain('meta.json')
    expect(JSON.parse(readFileSync(join(to, 'log', 'meta.json'), 'utf8')).artifacts).toEqual(['out/*.txt', 'model.bin'])
    // No secret reaches the results.
    for (const [path, node] of snapshot(to)) expect(node.content ?? node.target ?? '', path).not.toContain('hunter2-pull')
  })

  it('downloads given paths and globs to --to; a pattern matching nothing is reported', {timeout: 120_000}, async () => {
    await jobWithResults('pull-b')
    const to = join(world.tmp, 'pull-b-results')
    const result = await world.orch(['pull', 'pull-b', 'out/*.log', 'with space', 'nothing-here*', '--to', to])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/no match on the host for nothing-here\*/)
    expect(readFileSync(join(to, 'files', 'out', 'c.log'), 'utf8')).toBe('c\n')
    expect(readFileSync(join(to, 'files', 'with space', 'x y.txt'), 'utf8')).toBe('spaced\n')
    expect(existsSync(join(to, 'files', 'out', 'a.txt'))).toBe(false)
    expect(result.stdout).toMatch(/pulled pull-b into/)
  })

  it('refuses a symlink from the host that points outside, and writes nothing outside DIR', {timeout: 120_000}, async () => {
    const cwd = join(world.sandbox.home, 'jobs', 'pull-c')
    mkdirSync(cwd, {recursive: true})
    await world.runCloud('pull-c', ['ln -s ../../../../../../../../tmp/orch-escape evil; ln -s /etc/passwd abs; echo fine > ok.txt'], ['--cwd', cwd])
    await world.waitForState('pull-c', ['DONE'])
    const base = join(world.tmp, 'pull-c-base')
    const to = join(base, 'results')
    for (const path of ['evil', 'abs']) {
      const result = await world.orch(['pull', 'pull-c', path, '--to', to])
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/refusing ".*" from the host: a symlink/)
      expect(existsSync(join(to, 'files', path))).toBe(false)
    }
    expect(readdirSync(base)).toEqual(['results'])
    expect(existsSync('/tmp/orch-escape')).toBe(false)
    const fine = await world.orch(['pull', 'pull-c', 'ok.txt', '--to', to])
    expectOk(fine, 'orch pull ok.txt')
    expect(readFileSync(join(to, 'files', 'ok.txt'), 'utf8')).toBe('fine\n')
  })

  it('--diff applies the job\'s uncommitted changes; on a conflict it refuses and changes nothing', {timeout: 240_000}, async () => {
    const dir = project('proj-d', {'f.txt': 'L1\nL2\nL3\n', 'g.txt': 'g\n', 'keep.txt': 'k\n'})
    const remote = remoteDirFor('proj-d')
    // The job edits f.txt line 2, appends to g.txt, creates a file and deletes one.
    await syncRun('diff-d', dir, remote, 'printf "L1\\nJOB\\nL3\\n" > f.txt; echo job >> g.txt; echo new > created.txt; rm keep.txt')
    await world.waitForState('diff-d', ['DONE'])

    // Conflict: line 2 changed here too (uncommitted).
    writeFileSync(join(dir, 'f.txt'), 'L1\nLOCAL\nL3\n')
    const state = () => ({files: snapshot(dir, (path) => path === '.git'), status: git(dir, 'status', '--porcelain'), index: readFileSync(join(dir, '.git', 'index'))})
    const before = state()
    const refused = await world.orch(['pull', 'diff-d', '--diff'], {cwd: dir})
    expect(refused.code).toBe(5)
    expect(refused.stderr).toMatch(/conflict with your local changes in f\.txt; nothing was changed/)
    expect(state()).toEqual(before)

    // Without the conflicting edit it applies: work tree only, the index untouched.
    git(dir, 'checkout', '--', 'f.txt')
    const indexBefore = readFileSync(join(dir, '.git', 'index'))
    const applied = await world.orch(['pull', 'diff-d', '--diff', '--json'], {cwd: join(dir)})
    expectOk(applied, 'orch pull --diff')
    expect(JSON.parse(applied.stdout)).toMatchObject({name: 'diff-d', applied: true, files: 4, base: git(dir, 'rev-parse', 'HEAD').trim()})
    expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toBe('L1\nJOB\nL3\n')
    expect(readFileSync(join(dir, 'g.txt'), 'utf8')).toBe('g\njob\n')
    expect(readFileSync(join(dir, 'created.txt'), 'utf8')).toBe('new\n')
    expect(existsSync(join(dir, 'keep.txt'))).toBe(false)
    expect(readFileSync(join(dir, '.git', 'index'))).toEqual(indexBefore)
    expect(git(dir, 'diff', '--cached', '--name-only')).toBe('')
  })

  it('--diff outside a git work tree is refused before asking the host', async () => {
    const here = join(world.tmp, 'not-a-repo')
    mkdirSync(here, {recursive: true})
    const result = await world.orch(['pull', 'whatever', '--diff'], {cwd: here})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/not one/)
  })
})

describe.skipIf(NO_SANDBOX)('the host side without GNU find and cp', () => {
  it('lists with find -exec + stat, and places with rm + tar, when -printf and cp -l are missing', {timeout: 60_000}, async () => {
    const {LocalHost} = await import('../../src/hosts/local-host.js')
    const {JobSite} = await import('../../src/jobs/site.js')
    const {resolveSyncSource} = await import('../../src/sync/source.js')
    const {syncTree} = await import('../../src/sync/sync.js')
    const fake = join(world.tmp, 'fakebin')
    mkdirSync(fake, {recursive: true})
    const refusals = join(world.tmp, 'fake-refusals')
    writeFileSync(join(fake, 'find'), `#!/bin/sh\nfor a do case $a in -printf) echo find >> '${refusals}'; echo "find: unknown predicate -printf" >&2; exit 1 ;; esac; done\nexec /usr/bin/find "$@"\n`, {mode: 0o755})
    writeFileSync(join(fake, 'cp'), `#!/bin/sh\nfor a do case $a in --remove-destination | -*l*) echo cp >> '${refusals}'; echo "cp: illegal option" >&2; exit 1 ;; esac; done\nexec /bin/cp "$@"\n`, {mode: 0o755})
    class FakeToolsHost extends LocalHost {
      override stream(script: string, options: Parameters<LocalHost['stream']>[1]): Promise<number> {
        return super.stream(`PATH='${fake}':$PATH; export PATH\n${script}`, options)
      }
    }
    const site = new JobSite(new FakeToolsHost(), join(world.tmp, 'fallback-logs'), '')
    const dir = project('fallback-e', {'a.txt': 'a1\n', 'sub/b.txt': 'b1\n', 'gone.txt': 'x\n'}, {git: false})
    symlinkSync('a.txt', join(dir, 'link'))
    chmodSync(join(dir, 'a.txt'), 0o755)
    const remote = join(world.tmp, 'fallback-remote', 'e')
    const source = await resolveSyncSource(dir, remote, dir)
    expect(await syncTree(site, source, {name: 'fallback-1', replace: false})).toMatchObject({files: 4, deleted: 0})
    // Second sync: the host lists with the fallback, and places changed files with it.
    writeFileSync(join(dir, 'sub/b.txt'), 'b2, changed\n')
    rmSync(join(dir, 'gone.txt'))
    expect(await syncTree(site, source, {name: 'fallback-2', replace: false})).toMatchObject({files: 1, deleted: 1})
    expect(await syncTree(site, source, {name: 'fallback-3', replace: false})).toMatchObject({files: 0, deleted: 0})
    const there = snapshot(remote)
    expect([...there.keys()].sort()).toEqual(['a.txt', 'link', 'sub', 'sub/b.txt'])
    expect(there.get('sub/b.txt')?.content).toBe('b2, changed\n')
    expect(there.get('a.txt')?.mode).toBe(0o755)
    expect(there.get('link')).toEqual({type: 'l', target: 'a.txt'})
    const refused = readFileSync(refusals, 'utf8')
    expect(refused).toContain('find')
    expect(refused).toContain('cp')
  })
})
