import {Chalk, type ChalkInstance} from 'chalk'

/** Colours only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colorEnabled(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return Boolean(stream.isTTY)
}

let shared: ChalkInstance | undefined

/**
 * The colours the formatters use. Decided on first use, not when a module loads: from stdout and
 * the environment (colorEnabled), unless useColor() said otherwise first.
 */
export function style(): ChalkInstance {
  return (shared ??= new Chalk({level: colorEnabled() ? 1 : 0}))
}

/** Colour on or off from here on, whatever stdout and the environment say (tests; a caller that knows). */
export function useColor(enabled: boolean): void {
  shared = new Chalk({level: enabled ? 1 : 0})
}
