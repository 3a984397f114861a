/**
 * Every shell script orch runs on a host, as it is run: the control scripts as assembled by
 * controlScript (library + prelude + body), the wrapper, and the standalone cron tools. shellcheck
 * must report nothing and dash (Debian's /bin/sh) must parse each one.
 */
import {spawnSync} from 'node:child_process'
import {readFileSync, readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {type ControlScript, controlScript, wrapperScript} from '../../../src/jobs/host-scripts.js'
import {skipWithout} from '../../helpers/requirements.js'

const ROOT = new URL('../../../', import.meta.url).pathname
const CONTROL: readonly ControlScript[] = ['start', 'list', 'locate', 'read-log', 'log-page', 'stop', 'has-session', 'tool', 'install-tools', 'job-info', 'sync', 'pull', 'rollback', 'approve', 'boot-entry']
const TOOLS = readdirSync(`${ROOT}scripts/cloud`).filter((name) => name.endsWith('.sh'))
const SCRIPTS: [string, string][] = [
  ...CONTROL.map((name): [string, string] => [`control script ${name}`, controlScript(name)]),
  ['orch-wrapper.sh', wrapperScript()],
  ...TOOLS.map((name): [string, string] => [`scripts/cloud/${name}`, readFileSync(`${ROOT}scripts/cloud/${name}`, 'utf8')]),
]

// Each skips visibly when its tool is missing; under CI (.ci/run installs both) that is a failure.
const shellcheck = !skipWithout('the shellcheck tests', ['shellcheck'])
const dash = !skipWithout('the dash parse tests', ['dash'])

describe.skipIf(!shellcheck)('shellcheck', () => {
  it.each(SCRIPTS)('%s: no findings', (_label, text) => {
    // cwd: the repository, so .shellcheckrc applies.
    const result = spawnSync('shellcheck', ['--shell=sh', '--format=gcc', '-'], {input: text, cwd: ROOT, encoding: 'utf8'})
    expect(result.stdout).toBe('')
    expect(result.status).toBe(0)
  })
})

describe.skipIf(!dash)('dash -n', () => {
  it.each(SCRIPTS)('%s parses', (_label, text) => {
    const result = spawnSync('dash', ['-n'], {input: text, encoding: 'utf8'})
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})
