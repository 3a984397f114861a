import type {HostStatus} from '../sites/host-lifecycle.js'
import {formatDuration} from '../config/units.js'
import {style} from './style.js'

export function formatHostStatus(status: HostStatus): string {
  const lines: string[] = []
  if (status.instance) {
    const i = status.instance
    lines.push(`instance  ${i.id} (${i.type ?? '?'})`)
    lines.push(`state     ${i.state === 'running' ? style().green(i.state) : style().yellow(i.state)}`)
    lines.push(`address   ${i.address ?? '-'}`)
    lines.push(`uptime    ${i.uptimeSeconds === null ? '-' : formatDuration(i.uptimeSeconds * 1000)}`)
  }
  if (status.host) lines.push(`ssh       ${status.host} (${status.reachable ? 'reachable' : 'unreachable'})`)
  if (status.jobs) lines.push(`jobs      ${status.jobs.running} running, ${status.jobs.starting} starting, ${status.jobs.queued} queued`)
  if (status.reachable) lines.push(`autostop  ${status.autostop ?? 'off'}`)
  return lines.join('\n')
}

export function formatHostDown(result: {instanceId: string; previousState: string | null; currentState: string | null}): string {
  return `${result.instanceId}: ${result.previousState ?? '?'} → ${result.currentState ?? '?'}`
}

export function formatHostUp(result: {instanceId: string | null; address: string}): string {
  return `${result.instanceId ?? 'instance'} is running at ${result.address} and accepts SSH`
}

export function formatHostDisconnect(result: {host: string; disconnected: boolean}): string {
  return result.disconnected ? `closed the held connection to ${result.host}` : `no held connection to ${result.host}`
}
