#!/usr/bin/env -S node --
// `node --` : Node 20 reads an --env-file anywhere in its arguments, the script's too (orch run
// --env-file, or a job's own command holding one), and fails (status 9) or hangs on a FIFO before
// orch starts; after `--` it reads none of them.
// Hot commands are answered without loading oclif when they can be (src/cli/fast-route.ts for
// `orch route`, src/cli/fast-path.ts for run, status, list, logs and stop); everything else is oclif.
// First, so a reader that leaves early (| head) ends every path below quietly with status 0.
const {guardStdout} = await import('../dist/output/stdout.js')
guardStdout()
const argv = process.argv.slice(2)
const {tryFastRoute} = await import('../dist/cli/fast-route.js')
let handled = await tryFastRoute(argv)
if (!handled) {
  const {tryFastCommand} = await import('../dist/cli/fast-path.js')
  handled = await tryFastCommand(argv)
}
if (!handled) {
  const {runOclif} = await import('../dist/cli/oclif-main.js')
  await runOclif(argv, import.meta.url)
}
