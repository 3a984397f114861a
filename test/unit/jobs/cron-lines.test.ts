import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {cronPath, cronWord} from '../../../src/jobs/cron-lines.js'

/** What sh runs of a crontab command: cron cuts it at the first `%` not escaped as `\%` (the rest
 * becomes stdin), then turns every `\%` into `%`. */
function asCronRunsIt(command: string): string {
  const cut = command.search(/(?<!\\)%/)
  const kept = (cut < 0 ? command : command.slice(0, cut)).replaceAll(String.raw`\%`, '%')
  return execFileSync('sh', ['-c', `printf '%s\\n' ${kept}`], {encoding: 'utf8', env: {...process.env, HOME: '/home/u'}})
}

describe('cron words', () => {
  it('escape % so cron does not cut the command, and keep the word exact for sh', () => {
    for (const word of ['date +%F', "it's 100%", 'plain', 'a b', String.raw`back\slash %%`]) {
      const quoted = cronWord(word)
      expect(asCronRunsIt(quoted)).toBe(`${word}\n`)
    }
  })

  it('leave ~ for $HOME outside the quotes', () => {
    expect(asCronRunsIt(cronPath('~/logs 100%'))).toBe('/home/u/logs 100%\n')
    expect(asCronRunsIt(cronPath('~'))).toBe('/home/u\n')
    expect(asCronRunsIt(cronPath('/srv/logs'))).toBe('/srv/logs\n')
  })
})
