#!/usr/bin/env -S node --
// `node --` : Node 20 reads an --env-file anywhere in its arguments, the script's too (orch run
// --env-file, or a job's own command holding one), and fails (status 9) or hangs on a FIFO before
// orch starts; after `--` it reads none of them.
// orch's commands are answered without loading oclif (src/cli/dispatch.ts): one parser, the same
// command classes oclif loads. Help, topics, --version, completions and unknown commands are oclif's.
// First, so a reader that leaves early (| head) ends every path below quietly with status 0.
const {guardStdout} = await import('../dist/terminal/stdout.js')
guardStdout()
const argv = process.argv.slice(2)
const {dispatch} = await import('../dist/cli/dispatch.js')
if (!(await dispatch(argv))) {
  const {runOclif} = await import('../dist/cli/oclif-main.js')
  await runOclif(argv, import.meta.url)
}
