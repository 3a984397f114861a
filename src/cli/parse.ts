import {parseArgs} from 'node:util'

import {usageError} from '../errors/errors.js'
import type {ArgDef, FlagDef, OptionFlagDef, ParsedInput} from './flags.js'

interface ParseSpec {
  id: string
  strict?: boolean
  enableJsonFlag?: boolean
  flags: Record<string, FlagDef>
  args?: Record<string, ArgDef>
}

const JSON_FLAG: FlagDef = {type: 'boolean', description: 'Format output as json.', allowNo: false}

/**
 * The one parser of orch's command lines, over node:util's tokenizer: flags before `--` (long,
 * `--name=value`, short and bundled short), then the declared arguments in order, then the words
 * left (a command). Every refusal is one usage error naming the word and pointing at --help;
 * values are converted by each flag's own `parse`.
 */
export function parseCommandLine(spec: ParseSpec, argv: readonly string[]): ParsedInput<Record<string, FlagDef>, Record<string, ArgDef>> {
  const help = `see orch ${spec.id.replaceAll(':', ' ')} --help`
  const refuse = (message: string) => usageError(message, help)
  const definitions: Record<string, FlagDef> = {...spec.flags, ...(spec.enableJsonFlag === false ? {} : {json: JSON_FLAG})}
  const byChar = new Map<string, string>()
  for (const [name, definition] of Object.entries(definitions)) if (definition.char) byChar.set(definition.char, name)

  // node:util takes the word after a value flag as its value whatever it is; an optional-value flag
  // followed by a flag, `--` or nothing is given its empty value first.
  const words: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!
    if (word === '--') {
      words.push(...argv.slice(i))
      break
    }
    const name = word.startsWith('--') ? word.slice(2) : undefined
    const definition = name === undefined ? undefined : definitions[name]
    const next = argv[i + 1]
    words.push(definition?.type === 'option' && definition.optionalValue && (next === undefined || next.startsWith('-')) ? `${word}=` : word)
  }

  const options: Record<string, {type: 'string' | 'boolean'; short?: string; multiple?: boolean}> = {}
  for (const [name, definition] of Object.entries(definitions)) {
    options[name] = {type: definition.type === 'boolean' ? 'boolean' : 'string', ...(definition.char ? {short: definition.char} : {}), multiple: true}
  }
  const {tokens} = parseArgs({args: words, options, strict: false, allowPositionals: true, tokens: true})

  const given: Record<string, string[] | true> = {}
  const positionals: string[] = []
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }
    if (token.kind === 'option-terminator') continue
    // node:util names a known short flag by its long name; an unknown one keeps its letter.
    const name = token.rawName.startsWith('--') || token.name.length > 1 ? token.name : byChar.get(token.name)
    const definition = name === undefined ? undefined : definitions[name]
    if (name === undefined || definition === undefined) {
      const word = words[token.index]!
      throw refuse(`unknown flag ${token.rawName}${token.rawName.startsWith('--') || word === token.rawName ? '' : ` in ${word}`}`)
    }
    if (definition.type === 'boolean') {
      if (token.inlineValue) throw usageError(`--${name} takes no value (got "${words[token.index]}")`, `give --${name} alone to turn it on, or leave it out`)
      if (given[name]) throw refuse(`--${name} is given twice`)
      given[name] = true
      continue
    }
    const value = token.value
    // A value that is itself a flag of this command (`--runtime --json`) is a missing value;
    // `--parallel -1` is a (bad) value, refused by the flag's own check.
    if (value === undefined || (!token.inlineValue && isFlagWord(value, definitions, byChar))) throw refuse(`--${name} needs a value`)
    const list = (given[name] ??= []) as string[]
    if (list.length > 0 && !definition.multiple) throw refuse(`--${name} is given twice`)
    if (definition.options && !definition.options.includes(value)) throw refuse(`--${name} "${value}" is not one of ${definition.options.join(', ')}`)
    list.push(value)
  }

  const flags: Record<string, unknown> = {}
  for (const [name, definition] of Object.entries(definitions)) {
    const raw = given[name]
    if (definition.type === 'boolean') {
      flags[name] = raw === true
      continue
    }
    const texts = raw === undefined ? (definition.default === undefined ? [] : [definition.default]) : (raw as string[])
    const parse = (definition as OptionFlagDef).parse ?? ((text: string) => text)
    const parsed = texts.map((text) => parse(text, `--${name}`))
    flags[name] = definition.multiple ? (raw === undefined ? undefined : parsed) : parsed[0]
  }

  const args: Record<string, string | undefined> = {}
  const declared = Object.entries(spec.args ?? {})
  declared.forEach(([name, definition], i) => {
    const value = positionals[i]
    if (value === undefined && definition.required) throw refuse(`missing argument ${name.toUpperCase()}`)
    if (value !== undefined && definition.options && !definition.options.includes(value)) {
      throw refuse(`${name.toUpperCase()} "${value}" is not one of ${definition.options.join(', ')}`)
    }
    args[name] = value
  })
  const rest = positionals.slice(declared.length)
  if (spec.strict !== false && rest.length > 0) throw refuse(`unexpected argument "${rest[0]}"`)
  return {flags: flags as ParsedInput<Record<string, FlagDef>, Record<string, ArgDef>>['flags'], args: args as never, words: rest}
}

function isFlagWord(word: string, definitions: Record<string, FlagDef>, byChar: Map<string, string>): boolean {
  if (word.startsWith('--')) return word === '--' || word.slice(2).split('=')[0]! in definitions
  return /^-[A-Za-z]/.test(word) && byChar.has(word[1]!)
}
