/**
 * Which command the first words of a command line name: the first word, or the first two for a
 * topic such as `host up`, as a path under commands/ without its extension ("route", "host/up").
 * `exists` says whether that command is there. undefined leaves the line to oclif: help (--help or
 * -h before any `--`), `orch` alone, `--version`, unknown and plugin commands (autocomplete).
 * Imports nothing, so bin/run.js can ask it before loading anything else.
 */
export function commandPath(argv: readonly string[], exists: (path: string) => boolean): {path: string; words: number} | undefined {
  const end = argv.indexOf('--')
  if ((end === -1 ? argv : argv.slice(0, end)).some((word) => word === '--help' || word === '-h' || word.startsWith('--help='))) return undefined
  const [first, second] = argv
  if (first === undefined || !WORD.test(first)) return undefined
  if (second !== undefined && WORD.test(second) && exists(`${first}/${second}`)) return {path: `${first}/${second}`, words: 2}
  return exists(first) ? {path: first, words: 1} : undefined
}

const WORD = /^[a-z][a-z-]*$/
