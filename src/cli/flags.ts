import {DURATION_FORMS, SIZE_FORMS, parseDuration, parseSize} from '../config/units.js'
import {usageError} from '../errors/errors.js'

/**
 * Flags and arguments as plain data, in the shape oclif caches in oclif.manifest.json (type,
 * description, char, options, default, multiple, helpGroup, helpValue), plus what oclif never sees:
 * `parse`, which turns the text into the value a command uses and refuses bad input with a usage
 * error naming the flag. Declared once, here and in the command files; parsed once (cli/parse.ts).
 */
export interface BooleanFlagDef {
  type: 'boolean'
  description: string
  char?: string
  helpGroup?: string
  allowNo: false
}

export interface OptionFlagDef<T = unknown> {
  type: 'option'
  description: string
  char?: string
  helpGroup?: string
  helpValue?: string
  options?: readonly string[]
  default?: string
  multiple: boolean
  /** `--sync` alone (before another flag, `--` or the end) means the empty value. */
  optionalValue?: boolean
  parse?: (text: string, flag: string) => T
  /** Phantom: the value type a command receives. */
  readonly __value?: T
}

export type FlagDef = BooleanFlagDef | OptionFlagDef

export interface ArgDef {
  name?: string
  description: string
  required?: boolean
  options?: readonly string[]
}

type OptionCommon = Omit<OptionFlagDef, 'type' | 'multiple' | 'parse' | 'default' | '__value'>

/** The value a command receives for a flag: boolean, the parsed value, or a list for a repeated flag. */
export type FlagValue<D> = D extends BooleanFlagDef
  ? boolean
  : D extends OptionFlagDef<infer T> & {multiple: true}
    ? T[] | undefined
    : D extends OptionFlagDef<infer T> & {default: string}
      ? T
      : D extends OptionFlagDef<infer T>
        ? T | undefined
        : never

export interface ParsedInput<F, A> {
  flags: {[K in keyof F]: FlagValue<F[K]>} & {json?: boolean}
  args: {[K in keyof A]: A[K] extends {required: true} ? string : string | undefined}
  /** Positional words in typed order after the declared arguments (e.g. the command after --). */
  words: string[]
}

const text = (value: string) => value

type SingleOption<T> = OptionFlagDef<T> & {multiple: false}

/** A single value; `parse` converts and validates it (default: the text as given). */
function option<T = string, D extends string | undefined = undefined>(
  options: OptionCommon & {default?: D; parse?: (text: string, flag: string) => T},
): SingleOption<NoInfer<T>> & (D extends string ? {default: string} : {default?: undefined}) {
  return {type: 'option', multiple: false, parse: text, ...options} as never
}

export const flag = {
  boolean: (options: Omit<BooleanFlagDef, 'type' | 'allowNo'>): BooleanFlagDef => ({type: 'boolean', allowNo: false, ...options}),
  option,
  /** Repeatable: every value, in the order given. */
  multiple<T = string>(options: OptionCommon & {parse?: (text: string, flag: string) => T}): OptionFlagDef<NoInfer<T>> & {multiple: true} {
    return {type: 'option', multiple: true, parse: text as unknown as (text: string) => T, ...options}
  },
}

export const arg = {
  required: (description: string, options?: readonly string[]): ArgDef & {required: true} => ({description, required: true, ...(options ? {options} : {})}),
  optional: (description: string): ArgDef => ({description, required: false}),
}

/** Value parsers shared by flags: each refuses with the flag's name and the accepted forms. */
export const values = {
  wholeNumber:
    (min: number, what = 'a whole number') =>
    (value: string, name: string): number => {
      if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw usageError(`${name} "${value}" is not ${what}${min > 0 ? ` of at least ${min}` : ''}`, `e.g. ${name} ${Math.max(min, 2)}`)
      return Number(value)
    },
  /** Milliseconds. */
  duration: (value: string, name: string): number => {
    const ms = parseDuration(value)
    if (ms === undefined) throw usageError(`${name} "${value}" is not a duration`, `use ${DURATION_FORMS}`)
    return ms
  },
  /** Bytes, at least `min`. */
  size:
    (min = 0) =>
    (value: string, name: string): number => {
      const bytes = parseSize(value)
      if (bytes === undefined || bytes < min) throw usageError(`${name} "${value}" is not a size`, `use ${SIZE_FORMS.replace(' (or "unknown")', '')}`)
      return bytes
    },
}
