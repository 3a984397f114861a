import parseDurationText from 'parse-duration'
import {createRequire} from 'node:module'

// bytes is CommonJS: required when first used, so commands that parse no size (orch route --json
// --runtime 15m) skip it, and require() skips the ESM loader's CommonJS lexer.
let bytesModule: typeof import('bytes') | undefined
const bytes = () => (bytesModule ??= createRequire(import.meta.url)('bytes') as typeof import('bytes'))

/** Accepted duration forms, shown in every error about one. */
export const DURATION_FORMS = 'a number with a unit: 90s, 15m, 2h, 1h30m, 30d'
/** Accepted size forms, shown in every error about one. */
export const SIZE_FORMS = 'a number with a unit: 512M, 12G, 8GB, 1.5T (or "unknown")'

// parse-duration accepts bare numbers (as ms) and prose; orch only accepts unit-suffixed forms,
// so a typo such as "15" never silently means 15 milliseconds.
const DURATION_SHAPE = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/i
const SIZE_SHAPE = /^(\d+(?:\.\d+)?)\s*([KMGTP])(i?B)?$/i

/** Milliseconds for a duration such as `1h30m`, or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim()
  if (!DURATION_SHAPE.test(trimmed)) return undefined
  const ms = parseDurationText(trimmed.toLowerCase())
  return ms === null || ms === undefined || !Number.isFinite(ms) ? undefined : ms
}

/** Bytes (binary units) for a size such as `12G` or `8GB`, or undefined when the text is not one. */
export function parseSize(text: string): number | undefined {
  const match = SIZE_SHAPE.exec(text.trim())
  if (!match) return undefined
  const parsed = bytes().parse(`${match[1]}${match[2]!.toUpperCase()}B`)
  return parsed === null || !Number.isFinite(parsed) ? undefined : parsed
}

/** `15m`, `1h30m`, `45s`: the shortest exact form of a duration, for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]]
  let rest = Math.round(ms / 1000) * 1000
  let text = ''
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size)
    if (count > 0) {
      text += `${count}${unit}`
      rest -= count * size
    }
  }
  return text || '0s'
}

/** `8GB`, `512MB`: a size for messages. */
export function formatSize(value: number): string {
  return bytes().format(value, {unitSeparator: ''}) ?? `${value}B`
}
