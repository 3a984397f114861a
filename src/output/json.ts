import {JsonJobList} from '../jobs/job-record.js'

/**
 * The text of a --json document. On a terminal it is indented for a person; otherwise (a pipe, a
 * file, an agent) it is compact, and an array puts one element per line: a 100,000-job list is a
 * third smaller and quicker to write, and `| head` or `grep` still see one job per line.
 */
export function jsonDocument(value: unknown, forTerminal: boolean): string {
  if (value instanceof JsonJobList && !forTerminal) return Buffer.concat([...jobListPieces(value)]).toString()
  if (forTerminal) return JSON.stringify(value, null, 2)
  if (!Array.isArray(value) || value.length === 0) return JSON.stringify(value)
  return `[\n${value.map((element) => JSON.stringify(element) ?? 'null').join(',\n')}\n]`
}

/** Records per piece of a job list's document: about a megabyte of text. */
const RECORDS_PER_PIECE = 2048

/**
 * jsonDocument's bytes in pieces, to be written one after the other: a 100,000-job list is never
 * one 50 MB string, joined and then encoded once more into a buffer to be written (a sixth of the
 * time of `orch list --json` at that size); its records' bytes are copied once, into the pieces.
 */
export function* jsonDocumentPieces(value: unknown, forTerminal: boolean): Generator<string | Buffer> {
  if (value instanceof JsonJobList && !forTerminal) yield* jobListPieces(value)
  else yield jsonDocument(value, forTerminal)
}

/** A job list's compact document, a record a line, RECORDS_PER_PIECE records a piece. */
function* jobListPieces(list: JsonJobList): Generator<Buffer> {
  if (list.length === 0) {
    yield Buffer.from('[]')
    return
  }
  const between = Buffer.from(',\n')
  let parts: Buffer[] = [Buffer.from('[\n')]
  let index = 0
  for (const line of list.encodedLines()) {
    if (index > 0) {
      if (index % RECORDS_PER_PIECE === 0) {
        yield Buffer.concat(parts)
        parts = []
      }
      parts.push(between)
    }
    parts.push(line)
    index++
  }
  parts.push(Buffer.from('\n]'))
  yield Buffer.concat(parts)
}
