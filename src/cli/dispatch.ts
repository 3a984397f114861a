import {existsSync} from 'node:fs'

import {guardStdout} from '../terminal/stdout.js'
import {commandPath} from './command-words.js'
import type {OrchCommandClass} from './command.js'
import {runCommand} from './command.js'

/**
 * The entry point when a command has no bundle (dist/fast/, see scripts/bundle-commands.mjs) —
 * a build without the bundling step, or the sources under test: the command named by the first
 * words is imported and run through the same class oclif would load; everything else is oclif's.
 */
export async function main(argv: readonly string[], oclifRoot: string): Promise<void> {
  // First, so a reader that leaves early (| head) ends every path below quietly with status 0.
  guardStdout()
  if (await dispatch(argv)) return
  const {runOclif} = await import('./oclif-main.js')
  await runOclif([...argv], oclifRoot)
}

/** Runs the command the first words name and returns true, or returns false to leave it to oclif. ORCH_NO_FAST_PATH=1 sends everything through oclif (the parity tests). */
export async function dispatch(argv: readonly string[]): Promise<boolean> {
  if (process.env.ORCH_NO_FAST_PATH) return false
  const found = commandPath(argv, (path) => existsSync(commandUrl(path)))
  if (!found) return false
  const {default: command} = (await import(commandUrl(found.path).href)) as {default: OrchCommandClass}
  await runCommand(command.spec, argv.slice(found.words))
  return true
}

// .ts when this module runs from source (the tests), .js when built.
const EXT = import.meta.url.slice(import.meta.url.lastIndexOf('.'))
const commandUrl = (path: string) => new URL(`../commands/${path}${EXT}`, import.meta.url)
