#!/usr/bin/env node
// Speed of `orch route`, which agents call many times a task.
//
// 1. Median wall time of `node bin/run.js route --json --runtime 15m` against `node -e 0`, measured
//    side by side in one run: 3 warm-ups each, then N runs alternating between the two. Goal: the
//    ratio is at most 1.3.
// 2. The modules that `route --json` loads: none of @aws-sdk, ssh2 or @oclif/core. A preload
//    (node --import) registers a module.register() resolve hook that records every ESM URL, and at
//    exit records every CommonJS module in require.cache; the same trace with ORCH_NO_FAST_PATH=1
//    must show @oclif/core, which proves the trace sees what it should.
//
// Needs a build (`npm run bench` builds first). Exit 0 when both checks pass, 1 otherwise.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin', 'run.js')
const ROUTE_ARGS = ['route', '--json', '--runtime', '15m']
const N = Number(process.env.BENCH_N ?? 30)
const WARMUPS = 3
const GOAL = 1.3
const HEAVY = [
  {name: '@aws-sdk', pattern: /[/\\]@aws-sdk[/\\]/},
  {name: 'ssh2', pattern: /[/\\]node_modules[/\\]ssh2[/\\]/},
  {name: '@oclif/core', pattern: /[/\\]@oclif[/\\]core[/\\]/},
]

if (!existsSync(join(ROOT, 'dist', 'cli', 'dispatch.js'))) {
  console.error('bench/route: dist/ is missing; run `npm run build` first (npm run bench does)')
  process.exit(1)
}

// A directory of its own (a git root, so config discovery stops there) and an environment with no
// orch settings or node options from the caller.
const tmp = mkdtempSync(join(tmpdir(), 'orch-bench-route-'))
mkdirSync(join(tmp, '.git'))
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ORCH_') && key !== 'NODE_OPTIONS'))

function run(args, env = baseEnv) {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {cwd: tmp, env, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr}`)
  }
  return {ms, stdout: result.stdout}
}

const routeOnce = () => {
  const {ms, stdout} = run([BIN, ...ROUTE_ARGS])
  const answer = JSON.parse(stdout)
  if (answer.target !== 'cloud') throw new Error(`unexpected answer: ${stdout}`)
  return ms
}
const nodeOnce = () => run(['-e', '0']).ms

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function timing() {
  for (let i = 0; i < WARMUPS; i++) {
    routeOnce()
    nodeOnce()
  }
  const route = []
  const node = []
  for (let i = 0; i < N; i++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    if (i % 2 === 0) {
      route.push(routeOnce())
      node.push(nodeOnce())
    } else {
      node.push(nodeOnce())
      route.push(routeOnce())
    }
  }
  return {route: median(route), node: median(node)}
}

function loadedModules(extraEnv) {
  const hooks = join(tmp, 'trace-hooks.mjs')
  const register = join(tmp, 'trace-register.mjs')
  writeFileSync(
    hooks,
    `import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.ORCH_BENCH_TRACE, result.url + '\\n')
  return result
}
`,
  )
  writeFileSync(
    register,
    `import {register, createRequire} from 'node:module'
import {appendFileSync} from 'node:fs'
register(${JSON.stringify(pathToFileURL(hooks).href)})
const cache = createRequire(import.meta.url).cache
process.on('exit', () => appendFileSync(process.env.ORCH_BENCH_TRACE, Object.keys(cache).join('\\n') + '\\n'))
`,
  )
  const out = join(tmp, `trace-${Object.keys(extraEnv).join('-') || 'default'}.txt`)
  writeFileSync(out, '')
  run([BIN, ...ROUTE_ARGS], {...baseEnv, ...extraEnv, NODE_OPTIONS: `--import ${pathToFileURL(register).href}`, ORCH_BENCH_TRACE: out})
  const entries = readFileSync(out, 'utf8').split('\n').filter(Boolean)
  return [...new Set(entries.map((entry) => (entry.startsWith('file:') ? fileURLToPath(entry) : entry)))]
}

let failed = false
try {
  console.log(`bench/route: \`orch ${ROUTE_ARGS.join(' ')}\` vs \`node -e 0\` (node ${process.version}, ${WARMUPS} warm-ups each, N=${N} alternating)`)
  const {route, node} = timing()
  const ratio = route / node
  const met = ratio <= GOAL
  console.log(`  median orch route: ${route.toFixed(1)} ms`)
  console.log(`  median node -e 0:  ${node.toFixed(1)} ms`)
  console.log(`  ratio:             ${ratio.toFixed(2)}x (goal ≤ ${GOAL}x) ${met ? 'OK' : 'MISSED'}`)
  if (!met) failed = true

  const modules = loadedModules({})
  const ours = modules.filter((m) => m.startsWith(ROOT) && !m.includes('node_modules')).map((m) => m.slice(ROOT.length))
  const packages = [...new Set(modules.flatMap((m) => /node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/.exec(m)?.[1] ?? []))]
  console.log(`  modules loaded by route --json: ${modules.filter((m) => !m.startsWith('node:')).length} files`)
  console.log(`    orch: ${ours.join(', ')}`)
  console.log(`    packages: ${packages.join(', ') || '(none)'}`)
  for (const heavy of HEAVY) {
    const hits = modules.filter((m) => heavy.pattern.test(m))
    console.log(`    ${heavy.name}: ${hits.length === 0 ? 'not loaded OK' : `LOADED (${hits.length} files, e.g. ${hits[0]})`}`)
    if (hits.length > 0) failed = true
  }

  // The trace must see a heavy module when one is loaded: the oclif path loads @oclif/core.
  const control = loadedModules({ORCH_NO_FAST_PATH: '1'})
  const seesOclif = control.some((m) => HEAVY[2].pattern.test(m))
  console.log(`  control (ORCH_NO_FAST_PATH=1): the trace ${seesOclif ? 'sees @oclif/core OK' : 'does NOT see @oclif/core: the trace is broken'}`)
  if (!seesOclif) failed = true
} catch (error) {
  console.error(`bench/route: ${error.message}`)
  failed = true
} finally {
  rmSync(tmp, {recursive: true, force: true})
}

console.log(`bench/route: ${failed ? 'FAILED' : 'passed'}`)
process.exit(failed ? 1 : 0)
