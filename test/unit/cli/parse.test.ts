import {describe, expect, it} from 'vitest'

import {arg, flag, values} from '../../../src/cli/flags.js'
import {parseCommandLine} from '../../../src/cli/parse.js'
import {OrchError} from '../../../src/errors/errors.js'

const spec = {
  id: 'host:demo',
  strict: false,
  args: {name: arg.required('job name'), mode: arg.optional('mode')},
  flags: {
    follow: flag.boolean({char: 'f', description: 'follow'}),
    quiet: flag.boolean({char: 'q', description: 'quiet'}),
    grace: flag.option({description: 'grace', default: '10', parse: values.wholeNumber(0)}),
    where: flag.option({description: 'where', options: ['local', 'cloud']}),
    env: flag.multiple({description: 'env'}),
    sync: flag.option({description: 'sync', optionalValue: true}),
  },
}

const parse = (...argv: string[]) => parseCommandLine(spec, argv)
const refusal = (...argv: string[]) => {
  try {
    parse(...argv)
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError)
    expect((error as OrchError).kind).toBe('usage')
    return (error as OrchError).toLine()
  }
  throw new Error(`orch host demo ${argv.join(' ')} was accepted`)
}

describe('parseCommandLine', () => {
  it('flags anywhere before --, arguments in order, the rest as words in typed order', () => {
    const parsed = parse('-f', 'job', '--grace=3', 'tmux', '--env', 'A=1', '--', 'echo', '--json', '-f')
    expect(parsed.flags).toMatchObject({follow: true, quiet: false, grace: 3, env: ['A=1'], json: false})
    expect(parsed.args).toEqual({name: 'job', mode: 'tmux'})
    expect(parsed.words).toEqual(['echo', '--json', '-f'])
  })

  it('applies defaults through the flag parser, and keeps repeated values of a repeatable flag', () => {
    expect(parse('x').flags.grace).toBe(10)
    expect(parse('x', '--env', 'A=1', '--env=B=2').flags.env).toEqual(['A=1', 'B=2'])
    expect(parse('x').flags.env).toBeUndefined()
  })

  it('bundled short flags, and a value that begins with a dash when it is not a flag', () => {
    expect(parse('-fq', 'x').flags).toMatchObject({follow: true, quiet: true})
    expect(refusal('x', '--grace', '-1')).toContain('--grace "-1" is not a whole number')
  })

  it('an optional value: alone, before a flag or --, it is the empty value', () => {
    expect(parse('x', '--sync').flags.sync).toBe('')
    expect(parse('x', '--sync', '-f').flags).toMatchObject({sync: '', follow: true})
    expect(parse('x', '--sync', '--', 'ls').flags.sync).toBe('')
    expect(parse('x', '--sync', 'dir').flags.sync).toBe('dir')
    expect(parse('x', '--', 'echo', '--sync')).toMatchObject({flags: {sync: undefined}, args: {mode: 'echo'}, words: ['--sync']})
  })

  it.each([
    [['x', '--bogus'], 'unknown flag --bogus — see orch host demo --help'],
    [['x', '-z'], 'unknown flag -z'],
    [['x', '-fz'], 'unknown flag -z in -fz'],
    [['-leading-dash'], 'unknown flag -l in -leading-dash'],
    [['x', '--where'], '--where needs a value'],
    [['x', '--where', '--follow'], '--where needs a value'],
    [['x', '--where', 'moon'], '--where "moon" is not one of local, cloud'],
    [['x', '--where', 'local', '--where', 'cloud'], '--where is given twice'],
    [['x', '-f', '--follow'], '--follow is given twice'],
    [['x', '--follow=false'], '--follow takes no value'],
    [['x', '--json=1'], '--json takes no value'],
    [[], 'missing argument NAME'],
    [['x', '--grace', 'soon'], '--grace "soon" is not a whole number'],
  ])('refuses %j: %s', (argv, says) => {
    expect(refusal(...argv)).toContain(says)
  })

  it('a strict command refuses a stray word; a command without --json does not know the flag', () => {
    const strict = {id: 'status', flags: {}, args: {}}
    expect(() => parseCommandLine(strict, ['extra'])).toThrow('unexpected argument "extra"')
    const noJson = {id: 'logs', enableJsonFlag: false, flags: {}, args: {}}
    expect(() => parseCommandLine(noJson, ['--json'])).toThrow('unknown flag --json')
  })

  it('an argument with a closed set of values names the argument', () => {
    const cron = {id: 'cron', flags: {}, args: {action: arg.required('action', ['install', 'show'])}}
    expect(parseCommandLine(cron, ['show']).args).toEqual({action: 'show'})
    expect(() => parseCommandLine(cron, ['sow'])).toThrow('ACTION "sow" is not one of install, show')
  })
})
