import bytes from 'bytes'
import {relative} from 'node:path'

import type {DiffReport} from '../jobs/pull-diff.js'
import type {PullReport} from '../jobs/pull-results.js'

const size = (n: number) => bytes(n, {unitSeparator: ' '}) ?? `${n} B`
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** Where `orch pull` put things, relative to the current directory when inside it. */
export function formatPulled(report: PullReport, cwd = process.cwd()): string {
  const rel = relative(cwd, report.to)
  const to = rel === '' ? '.' : rel.startsWith('..') ? report.to : rel
  const lines = [`pulled ${report.name} into ${to}/`, `  log/    ${plural(report.log.files, 'file')}, ${size(report.log.bytes)}`]
  if (report.patterns.length > 0) lines.push(`  files/  ${plural(report.files.files, 'file')}, ${size(report.files.bytes)} (${report.patterns.join(' ')})`)
  return lines.join('\n')
}

export function formatDiffPulled(report: DiffReport): string {
  if (!report.applied) return `${report.name}: no uncommitted changes on the host; nothing to apply`
  return `applied the changes of ${report.name} (${plural(report.files, 'file')}${report.base ? `, from ${report.base.slice(0, 12)}` : ''}) to ${report.workTree}; review them with git diff`
}
