// Helpers shared by the bench scripts (bench/*.mjs): timing a program, running pairs side by side,
// medians and the result table. Lives in a subdirectory so bench/run.mjs does not run it as a bench.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {closeSync, existsSync, openSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')
export const WARMUPS = 2

/** A positive whole number from the environment variable `name`, else `fallback`; exits 2 when it is not one. */
export function positive(name, fallback, label = 'bench') {
  const value = process.env[name] === undefined ? fallback : Number(process.env[name])
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${label}: ${name}=${process.env[name]} is not a positive whole number`)
    process.exit(2)
  }
  return value
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Import from dist/, retrying for a while: a concurrent `npm run build` deletes dist briefly. */
export const importDist = (relative) => importBuilt('dist', relative)

/** The sandbox sshd of the tests (test/helpers/sandbox-sshd.ts), which `npm run build` compiles to dist-test/. */
export const importSandbox = () => importBuilt('dist-test', 'sandbox-sshd.js')

async function importBuilt(folder, relative) {
  const file = join(ROOT, folder, relative)
  for (let attempt = 1; ; attempt++) {
    try {
      return await import(`${file}?attempt=${attempt}`)
    } catch (error) {
      if (attempt >= 30 || !/Cannot find module|ERR_MODULE_NOT_FOUND|ENOENT/.test(String(error?.code ?? error?.message))) {
        throw new Error(`cannot load ${file} (run \`npm run build\` first; npm run bench does): ${error.message}`)
      }
      await sleep(1000)
    }
  }
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The p-th percentile (0–100) by the nearest-rank method. */
export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * Run a program; resolves with its wall time (spawn to exit), status and stderr. `stdout` is
 * 'devnull' (the file /dev/null), 'count' (a pipe whose bytes are counted and hashed) or 'collect'.
 */
export function timed(file, args, {env, cwd = ROOT, stdout = 'collect'} = {}) {
  return new Promise((resolve, reject) => {
    const devNull = stdout === 'devnull' ? openSync('/dev/null', 'w') : undefined
    const start = process.hrtime.bigint()
    const child = spawn(file, args, {env, cwd, stdio: ['ignore', devNull ?? 'pipe', 'pipe']})
    if (devNull !== undefined) closeSync(devNull)
    const out = []
    const err = []
    const hash = createHash('sha256')
    let bytes = 0
    child.stdout?.on('data', (chunk) => {
      bytes += chunk.length
      if (stdout === 'count') hash.update(chunk)
      else out.push(chunk)
    })
    child.stderr.on('data', (chunk) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      resolve({ms, code: code ?? `signal ${signal}`, bytes, sha256: stdout === 'count' ? hash.digest('hex') : undefined, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()})
    })
  })
}

export const distReady = () => existsSync(join(ROOT, 'dist', 'cli', 'dispatch.js')) && existsSync(join(ROOT, 'dist', 'jobs', 'sh', 'list.sh')) && existsSync(join(ROOT, 'oclif.manifest.json'))

/** Like timed(), but a non-zero status is an error; retried while dist/ is being rebuilt. */
export async function mustRun(label, file, args, options) {
  for (let attempt = 1; ; attempt++) {
    const result = await timed(file, args, options)
    if (result.code === 0) return result
    const rebuilding = file === process.execPath && (!distReady() || /Cannot find module|ERR_MODULE_NOT_FOUND/.test(result.stderr))
    if (!rebuilding || attempt >= 5) throw new Error(`${label} exited ${result.code}: ${result.stderr.trim().slice(0, 2000)}`)
    console.log(`  (dist/ is being rebuilt; waiting to retry ${label})`)
    const deadline = Date.now() + 180_000
    do await sleep(1000)
    while (!distReady() && Date.now() < deadline)
    await sleep(2000) // let the build finish writing
  }
}

/** Warm-ups, then n pairs alternating which goes first; returns the per-run samples of both. */
export async function sideBySide(n, a, b, warmups = WARMUPS) {
  for (let i = 0; i < warmups; i++) {
    await a(`w${i}`)
    await b(`w${i}`)
  }
  const samples = {a: [], b: []}
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      samples.a.push(await a(i))
      samples.b.push(await b(i))
    } else {
      samples.b.push(await b(i))
      samples.a.push(await a(i))
    }
  }
  return samples
}

export const fmtMs = (ms) => `${ms.toFixed(0)} ms`
export const fmtRate = (bytesPerMs) => `${(bytesPerMs / 1000).toFixed(1)} MB/s`

export function table(rows, header = ['measurement', 'orch (median)', 'ssh (median)', 'ratio', 'goal', 'result']) {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((row) => String(row[c]).length)))
  const line = (row) => `  ${row.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')}`
  console.log(line(header))
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`)
  for (const row of rows) console.log(line(row))
}

export const spread = (values) => `min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}`
/** Median of the ratios within each alternating pair: steadier than the ratio of medians when the load drifts. */
export const pairedRatio = ({a, b}, invert = false) => median(a.map((ms, i) => (invert ? b[i] / ms : ms / b[i])))

/** The environment orch runs with against a sandbox: no ORCH_* of the caller, no agent, HOME a project root of its own. */
export function sandboxEnv(sandbox, home) {
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ORCH_') && key !== 'NODE_OPTIONS' && key !== 'SSH_AUTH_SOCK'))
  return {baseEnv, env: {...baseEnv, ...sandbox.env(), HOME: home, NO_COLOR: '1'}}
}

/** Pids of the connection holders (bin/orch-holder.js) whose socket lies under `home`, from /proc. */
export function holdersUnder(home) {
  if (!home) return []
  return readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      return argv.includes('orch-holder.js') && argv.includes(home)
    } catch {
      return false
    }
  })
}
