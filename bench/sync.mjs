#!/usr/bin/env node
// `orch run --sync` against rsync, side by side, on a generated tree of 10,000 files / 100 MB, to
// the same private loopback sshd (test/helpers/sandbox-sshd.ts; needs `npm run build` first).
//
//   rsync:  rsync -a --delete -e 'ssh <sandbox args>' SRC/ user@127.0.0.1:DST/   (a process)
//   orch:   a fresh node process that opens its SSH connection and runs the sync exactly as
//           `orch run --sync` does (dist/sync/sync.js), without creating the job
//
// Each trial runs both, interleaved, so load on the machine hits both alike: a first sync into an
// empty directory, then a no-change re-sync. Medians over TRIALS (default 5; BENCH_TRIALS sets it).
// For reference it also times the whole CLI: `orch run --sync -- true` and `orch run -- true`.
// Goals: first sync ≤ 1.5× rsync, no-change re-sync ≤ 2× rsync. Exit 1 when missed.
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

// ORCH_IT_ROOT may name a copy of bin/, dist/, package.json and the manifest (as for the tests).
const root = process.env.ORCH_IT_ROOT || fileURLToPath(new URL('..', import.meta.url))
const dist = (path) => join(root, 'dist', path)
// The sandbox is a test helper: always this checkout's build of it (dist-test/), never ORCH_IT_ROOT's.
const sandboxModule = fileURLToPath(new URL('../dist-test/sandbox-sshd.js', import.meta.url))
for (const built of [dist('sync/sync.js'), dist('jobs/sh/sync.sh'), sandboxModule]) {
  if (!existsSync(built)) {
    console.error(`${built} is missing: run \`npm run build\` first`)
    process.exit(2)
  }
}
if (spawnSync('rsync', ['--version']).status !== 0) {
  console.error('rsync is not installed: it is the baseline of this bench')
  process.exit(2)
}

const FILES = 10_000
const TOTAL = 100 * 1024 * 1024
const TRIALS = Number(process.env.BENCH_TRIALS || 5)
const GOAL_FIRST = 1.5
const GOAL_RESYNC = 2

const {startSandboxSshd} = await import(sandboxModule)
const sandbox = await startSandboxSshd()
const tmp = mkdtempSync(join(tmpdir(), 'orch-bench-sync-'))
let exitCode = 1
try {
  // ---- the tree: 100 directories of 100 files, sizes spread around 10 KiB, incompressible.
  const src = join(tmp, 'tree')
  let seed = 42
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const sizes = Array.from({length: FILES}, () => 1 + next() * 2)
  const scale = TOTAL / sizes.reduce((a, b) => a + b, 0)
  let written = 0
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, `dir-${String(Math.floor(i / 100)).padStart(3, '0')}`)
    if (i % 100 === 0) mkdirSync(dir, {recursive: true})
    const size = i === FILES - 1 ? TOTAL - written : Math.round(sizes[i] * scale)
    writeFileSync(join(dir, `file-${i}.bin`), randomBytes(size))
    written += size
  }
  console.log(`tree: ${FILES} files, ${(written / 1024 / 1024).toFixed(1)} MiB in ${src}`)

  const remoteBase = join(sandbox.home, 'work')
  mkdirSync(remoteBase, {recursive: true})
  // A fresh pair of target directories per trial; nothing is deleted until the end (this
  // filesystem may be mounted with `discard`: deleting 10,000 files stalls whoever writes next).
  let orchDir = ''
  let rsyncDir = ''
  const env = {PATH: process.env.PATH, HOME: join(tmp, 'home'), ...sandbox.env()}
  mkdirSync(env.HOME, {recursive: true})

  // ---- rsync over OpenSSH, as a user would type it.
  const sshArgs = sandbox.sshArgs()
  const target = sshArgs.pop()
  const quote = (word) => `'${word.replaceAll("'", `'\\''`)}'`
  const rsyncArgv = () => ['-a', '--delete', '-e', ['ssh', ...sshArgs].map(quote).join(' '), `${src}/`, `${target}:${rsyncDir}/`]
  const rsync = () => {
    const {ms, cpu, result} = timed('rsync', rsyncArgv())
    if (result.status !== 0) throw new Error(`rsync failed (${result.status}): ${result.stderr}`)
    cpuTimes.rsync.push(cpu)
    return ms
  }

  // ---- orch: a fresh process doing what `orch run --sync` does before it creates the job.
  const driver = `
    const [dist, src, remote] = process.argv.slice(1)
    const {SshHost} = await import(dist + '/hosts/ssh-host.js')
    const {JobSite} = await import(dist + '/jobs/site.js')
    const {resolveSyncSource} = await import(dist + '/sync/source.js')
    const {syncTree} = await import(dist + '/sync/sync.js')
    const e = process.env
    const host = new SshHost({host: e.ORCH_HOST, port: Number(e.ORCH_PORT), user: e.ORCH_USER, keyPath: e.ORCH_SSH_KEY, knownHostsPath: e.ORCH_KNOWN_HOSTS, acceptNewHostKey: false})
    const site = new JobSite(host, e.ORCH_LOG_ROOT, e.ORCH_TMUX_SOCKET)
    const source = await resolveSyncSource(src, remote, src)
    const report = await syncTree(site, source, {name: 'bench-sync-never-a-job', replace: false})
    await site.close()
    process.stdout.write(JSON.stringify(report))
  `
  const orch = () => {
    const {ms, cpu, result} = timed(process.execPath, ['--input-type=module', '-e', driver, dist(''), src, orchDir], {env})
    if (result.status !== 0) throw new Error(`orch sync failed (${result.status}): ${result.stderr}`)
    cpuTimes.orch.push(cpu)
    return {ms, report: JSON.parse(result.stdout)}
  }
  const fresh = (trial) => {
    orchDir = join(remoteBase, `bench-orch-${trial}`)
    rsyncDir = join(remoteBase, `bench-rsync-${trial}`)
  }

  const times = {rsyncFirst: [], orchFirst: [], rsyncAgain: [], orchAgain: []}
  const cpuTimes = {rsync: [], orch: []}
  for (let trial = 1; trial <= TRIALS; trial++) {
    fresh(trial)
    // Alternate who goes first, so neither always meets a warmer page cache.
    const pairs = trial % 2 ? ['rsync', 'orch'] : ['orch', 'rsync']
    for (const who of pairs) {
      if (who === 'rsync') times.rsyncFirst.push(rsync())
      else {
        const {ms, report} = orch()
        if (report.files !== FILES) throw new Error(`orch's first sync sent ${report.files} files, not ${FILES}`)
        times.orchFirst.push(ms)
      }
    }
    for (const who of pairs) {
      if (who === 'rsync') times.rsyncAgain.push(rsync())
      else {
        const {ms, report} = orch()
        if (report.files !== 0 || report.deleted !== 0) throw new Error(`orch's no-change re-sync sent ${report.files} files and deleted ${report.deleted}`)
        times.orchAgain.push(ms)
      }
    }
    console.log(
      `trial ${trial}: first rsync ${ms(times.rsyncFirst.at(-1))} orch ${ms(times.orchFirst.at(-1))} | re-sync rsync ${ms(times.rsyncAgain.at(-1))} orch ${ms(times.orchAgain.at(-1))}`,
    )
  }

  // Both copies hold the whole tree.
  const summary = (dir) => {
    let files = 0
    let bytes = 0
    for (const sub of readdirSync(dir)) for (const name of readdirSync(join(dir, sub))) {
      files++
      bytes += statSync(join(dir, sub, name)).size
    }
    return `${files} files, ${bytes} bytes`
  }
  const expected = `${FILES} files, ${written} bytes`
  for (const [who, dir] of [['orch', orchDir], ['rsync', rsyncDir]]) {
    const got = summary(dir)
    if (got !== expected) throw new Error(`${who}'s copy holds ${got}, expected ${expected}`)
  }
  execFileSync('diff', ['-r', '-q', src, orchDir])

  // For reference: the whole CLI, a no-change --sync run against a plain run (the job's own cost).
  const cli = (args) => {
    const started = performance.now()
    const result = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], {env, cwd: tmp, encoding: 'utf8'})
    if (result.status !== 0) throw new Error(`orch ${args.join(' ')} failed: ${result.stderr}`)
    return performance.now() - started
  }
  const cliSync = []
  const cliPlain = []
  for (let i = 0; i < 3; i++) {
    cliSync.push(cli(['run', `bench-cli-sync-${i}`, '--where', 'cloud', '--sync', src, '--remote-dir', orchDir, '--', 'true']))
    cliPlain.push(cli(['run', `bench-cli-plain-${i}`, '--where', 'cloud', '--', 'true']))
  }

  // CPU seconds of the client side (rsync + ssh, or orch's node), first and re-sync alternating.
  const cpuOf = (list, offset) => list.filter((_, i) => i % 2 === offset).filter((v) => v !== undefined)
  const cpuLine = (label, offset) => {
    const r = cpuOf(cpuTimes.rsync, offset)
    const o = cpuOf(cpuTimes.orch, offset)
    return r.length && o.length ? `${label} client CPU (user+sys, median): rsync+ssh ${ms(median(r))}, orch ${ms(median(o))}` : undefined
  }
  // Let the reference jobs finish before the sandbox is removed.
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && readdirSync(sandbox.logRoot).some((name) => name.startsWith('bench-cli-') && !existsSync(join(sandbox.logRoot, name, 'exit')))) {
    await new Promise((done) => setTimeout(done, 200))
  }

  const first = median(times.orchFirst) / median(times.rsyncFirst)
  const again = median(times.orchAgain) / median(times.rsyncAgain)
  console.log('')
  console.log(`                       rsync      orch       ratio   goal`)
  console.log(`first sync (median)    ${pad(ms(median(times.rsyncFirst)))} ${pad(ms(median(times.orchFirst)))} ${pad(`${first.toFixed(2)}×`, 7)} ≤ ${GOAL_FIRST}× ${first <= GOAL_FIRST ? 'ok' : 'MISSED'}`)
  console.log(`no-change re-sync      ${pad(ms(median(times.rsyncAgain)))} ${pad(ms(median(times.orchAgain)))} ${pad(`${again.toFixed(2)}×`, 7)} ≤ ${GOAL_RESYNC}× ${again <= GOAL_RESYNC ? 'ok' : 'MISSED'}`)
  console.log('')
  for (const line of [cpuLine('first sync', 0), cpuLine('re-sync   ', 1)]) if (line) console.log(line)
  console.log(`whole CLI, no-change: orch run --sync -- true ${ms(median(cliSync))}; orch run -- true ${ms(median(cliPlain))} (median of 3; not a goal)`)
  exitCode = first <= GOAL_FIRST && again <= GOAL_RESYNC ? 0 : 1
} catch (error) {
  console.error(`bench/sync.mjs: ${error.stack ?? error}`)
  exitCode = 1
} finally {
  await sandbox.cleanup().catch((error) => console.error(`cleaning up the sandbox: ${error.message}`))
  rmSync(tmp, {recursive: true, force: true})
}
process.exit(exitCode)

/**
 * Run a command after flushing dirty pages (so neither tool pays for the other's writeback);
 * wall time, and CPU time of the process and its children when /usr/bin/time is there.
 */
function timed(file, args, options = {}) {
  spawnSync('sync')
  const withTime = existsSync('/usr/bin/time')
  const started = performance.now()
  const result = withTime
    ? spawnSync('/usr/bin/time', ['-f', 'orch-bench-cpu %U %S', file, ...args], {...options, encoding: 'utf8'})
    : spawnSync(file, args, {...options, encoding: 'utf8'})
  const elapsed = performance.now() - started
  let cpu
  const match = withTime ? /orch-bench-cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr) : null
  if (match) {
    cpu = (Number(match[1]) + Number(match[2])) * 1000
    result.stderr = result.stderr.slice(0, match.index)
  }
  return {ms: elapsed, cpu, result}
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
function ms(value) {
  return `${Math.round(value)} ms`
}
function pad(text, width = 10) {
  return text.padEnd(width)
}
