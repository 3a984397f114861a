import {existsSync} from 'node:fs'

import type {OrchCommandClass} from './command.js'
import {runCommand} from './command.js'

/**
 * bin/run.js's first stop: the command named by the first word (or the first two, for a topic
 * such as `host up`) is imported and run directly, through the same class oclif would load. Help,
 * `orch` alone, `--version`, unknown commands and plugin commands (autocomplete) are oclif's: this
 * returns false for them. ORCH_NO_FAST_PATH=1 sends everything through oclif (the parity tests).
 */
export async function dispatch(argv: readonly string[]): Promise<boolean> {
  if (process.env.ORCH_NO_FAST_PATH) return false
  const end = argv.indexOf('--')
  if ((end === -1 ? argv : argv.slice(0, end)).some((word) => word === '--help' || word === '-h' || word.startsWith('--help='))) return false
  const found = commandFile(argv)
  if (!found) return false
  const {default: command} = (await import(found.url.href)) as {default: OrchCommandClass}
  await runCommand(command.spec, argv.slice(found.words))
  return true
}

const WORD = /^[a-z][a-z-]*$/
// .ts when this module runs from source (the tests), .js when built.
const EXT = import.meta.url.slice(import.meta.url.lastIndexOf('.'))

function commandFile(argv: readonly string[]): {url: URL; words: number} | undefined {
  const [first, second] = argv
  if (first === undefined || !WORD.test(first)) return undefined
  if (second !== undefined && WORD.test(second)) {
    const url = new URL(`../commands/${first}/${second}${EXT}`, import.meta.url)
    if (existsSync(url)) return {url, words: 2}
  }
  const url = new URL(`../commands/${first}${EXT}`, import.meta.url)
  return existsSync(url) ? {url, words: 1} : undefined
}
