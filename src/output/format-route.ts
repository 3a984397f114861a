import type {RouteResult} from '../routing/route.js'
import {style} from './style.js'

export function formatRoute(result: RouteResult): string {
  const target = result.target === 'cloud' ? style().cyan.bold('cloud') : style().green.bold('local')
  const lines = [target]
  for (const reason of result.reasons) {
    const tag = reason.inferred ? style().dim(' [inferred]') : ''
    lines.push(`  - ${reason.message}${tag}`)
  }
  return lines.join('\n')
}
