/**
 * A service's @reboot line (jobs/service.ts installBootEntry over sh/boot-entry.sh), run on this
 * machine through the Host seam with a fake crontab (the machine's own is never touched). The line
 * is installed after the job started: a service that ended for good before that (a restart storm
 * within its first second) has already removed what it found of its entry, so the install must not
 * leave a line behind that would start it again at the next boot.
 */
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {LocalHost} from '../../../src/hosts/local-host.js'
import {installBootEntry} from '../../../src/jobs/service.js'
import {JobSite} from '../../../src/jobs/site.js'
import {writeFakeCrontab} from '../../integration/helpers/host-kit.js'

const MINE = '# mine\n*/5 * * * * echo mine\n'
let tmp: string
let root: string
let spool: string
let crontab: string
let site: JobSite

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'orch-boot-entry-'))
  root = join(tmp, 'logs')
  mkdirSync(root)
  spool = join(tmp, 'spool')
  crontab = writeFakeCrontab(tmp, spool)
  chmodSync(crontab, 0o755)
  site = new JobSite(new LocalHost(), root)
})

afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function job(name: string, finished: boolean): string {
  const dir = join(root, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify({name, command: 'exit 1'})}\n`)
  if (finished) writeFileSync(join(dir, 'exit'), '1\nrestart-storm\n')
  return dir
}

describe('installBootEntry', () => {
  it('a running service gets its line, every other line kept', async () => {
    writeFileSync(spool, MINE)
    const dir = job('svc-running', false)
    await installBootEntry(site, 'svc-running', dir, {hostDir: join(tmp, 'host'), crontabCommand: crontab})
    const table = readFileSync(spool, 'utf8')
    expect(table.startsWith(MINE)).toBe(true)
    expect(table).toContain('# orch:boot:svc-running')
    expect(existsSync(join(dir, 'on-boot'))).toBe(true)
  })

  it('a service that already ended for good gets no line (it would start again at boot)', async () => {
    writeFileSync(spool, MINE)
    const dir = job('svc-stormed', true)
    await installBootEntry(site, 'svc-stormed', dir, {hostDir: join(tmp, 'host'), crontabCommand: crontab})
    expect(readFileSync(spool, 'utf8')).toBe(MINE)
    expect(existsSync(join(dir, 'on-boot'))).toBe(false)
  })
})
