import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {serviceFlags, servicePolicyFrom} from '../../../src/cli/service-flags.js'
import {OrchError} from '../../../src/errors/errors.js'
import {bootLine, serviceOptions} from '../../../src/jobs/service.js'

const parse = <K extends keyof typeof serviceFlags>(name: K, text: string) => (serviceFlags[name] as {parse: (text: string, flag: string) => unknown}).parse(text, `--${name}`)

describe('service flags', () => {
  it('no service flag: a plain job', () => {
    expect(servicePolicyFrom({})).toBeUndefined()
    expect(servicePolicyFrom({'on-boot': false})).toBeUndefined()
  })

  it('PM2-like defaults: 10 quick restarts within 5s, 2s first delay, no memory cap', () => {
    expect(servicePolicyFrom({restart: 'always'})).toEqual({restart: 'always', maxRestarts: 10, minUptimeSeconds: 5, restartDelaySeconds: 2, maxMemoryBytes: 0, onBoot: false})
  })

  it('durations become whole seconds on the host, a part of one counting as one', () => {
    const policy = servicePolicyFrom({restart: 'on-failure', 'min-uptime': parse('min-uptime', '1m') as number, 'restart-delay': parse('restart-delay', '500ms') as number, 'max-memory': parse('max-memory', '500M') as number, 'on-boot': true, 'max-restarts': 0})
    expect(policy).toEqual({restart: 'on-failure', maxRestarts: 0, minUptimeSeconds: 60, restartDelaySeconds: 1, maxMemoryBytes: 500 * 1024 * 1024, onBoot: true})
    expect(serviceOptions(policy!)).toEqual(['restart=on-failure', 'max_restarts=0', 'min_uptime=60', 'restart_delay=1', `max_memory=${500 * 1024 * 1024}`])
  })

  it('--max-memory alone caps a batch job (restart=no)', () => {
    expect(servicePolicyFrom({'max-memory': 1024})).toMatchObject({restart: 'no', maxMemoryBytes: 1024, onBoot: false})
  })

  it.each([
    [{'max-restarts': 3}, /--max-restarts is for services/],
    [{'min-uptime': 1000}, /--min-uptime is for services/],
    [{'restart-delay': 1000}, /--restart-delay is for services/],
    [{'on-boot': true}, /--on-boot is for services/],
    [{restart: 'always' as const, retries: 2}, /--retries is for batch jobs/],
  ])('refuses %j', (flags, message) => {
    expect(() => servicePolicyFrom(flags)).toThrow(message)
    try {
      servicePolicyFrom(flags)
    } catch (error) {
      expect((error as OrchError).kind).toBe('usage')
    }
  })

  it.each([
    ['max-memory', '12X', /--max-memory "12X" is not a size/],
    ['max-memory', '0M', /is not a size/],
    ['max-restarts', '-1', /--max-restarts "-1" is not a whole number/],
    ['max-restarts', '1.5', /is not a whole number/],
    ['min-uptime', '5', /--min-uptime "5" is not a duration/],
  ] as const)('--%s %s is refused', (name, text, message) => {
    expect(() => parse(name, text)).toThrow(message)
  })
})

describe('the @reboot line', () => {
  it('runs the job\'s own wrapper in mode boot, only while the job has its on-boot file; quoted for sh, % escaped for cron', () => {
    expect(bootLine('/home/u/logs/web', 'orch', 'web')).toBe('@reboot [ -f /home/u/logs/web/on-boot ] && /bin/sh /home/u/logs/web/orch-wrapper.sh /home/u/logs/web boot orch web >> /home/u/logs/web/boot.log 2>&1')
    const odd = bootLine("/srv/my logs/it's%", '', 'web')
    expect(odd).toContain("'/srv/my logs/it'\\''s\\%/orch-wrapper.sh'")
    // What cron hands to sh (after turning \% back into %) is the right words.
    const words = execFileSync('sh', ['-c', `printf '%s\\n' ${odd.replace(/^@reboot \[ -f .* \] && /, '').replace(/ >>.*$/, '').replaceAll('\\%', '%')}`]).toString()
    expect(words).toBe("/bin/sh\n/srv/my logs/it's%/orch-wrapper.sh\n/srv/my logs/it's%\nboot\n\nweb\n")
  })
})
