import {JsonJobList} from '../jobs/job-record.js'

/**
 * The text of a --json document. On a terminal it is indented for a person; otherwise (a pipe, a
 * file, an agent) it is compact, and an array puts one element per line: a 100,000-job list is a
 * third smaller and quicker to write, and `| head` or `grep` still see one job per line.
 */
export function jsonDocument(value: unknown, forTerminal: boolean): string {
  if (value instanceof JsonJobList && !forTerminal) return value.length === 0 ? '[]' : `[\n${value.lines().join(',\n')}\n]`
  if (forTerminal) return JSON.stringify(value, null, 2)
  if (!Array.isArray(value) || value.length === 0) return JSON.stringify(value)
  return `[\n${value.map((element) => JSON.stringify(element) ?? 'null').join(',\n')}\n]`
}
