#!/usr/bin/env node
// `orch route` is answered without loading oclif when it can be (see src/cli/fast-route.ts).
const {tryFastRoute} = await import('../dist/cli/fast-route.js')
if (!(await tryFastRoute(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
