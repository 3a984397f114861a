import bytes from 'bytes'

import type {SyncReport} from '../sync/sync.js'

/** The one line `orch run --sync` prints on stderr. */
export function formatSynced(report: SyncReport, where: string): string {
  const files = `${report.files} file${report.files === 1 ? '' : 's'}`
  const deleted = report.deleted ? `, deleted ${report.deleted}` : ''
  return `synced ${files} (${bytes(report.bytes, {unitSeparator: ' '}) ?? `${report.bytes} B`})${deleted} to ${where}:${report.remoteDir}`
}

