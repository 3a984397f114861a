#!/usr/bin/env node
// Hot commands are answered without loading oclif when they can be (src/cli/fast-route.ts for
// `orch route`, src/cli/fast-path.ts for run, status, list, logs and stop); everything else is oclif.
// First, so a reader that leaves early (| head) ends every path below quietly with status 0.
const {guardStdout} = await import('../dist/terminal/stdout.js')
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
