import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {LocalHost} from '../../../src/hosts/local-host.js'
import {readLog} from '../../../src/jobs/follow-log.js'
import {JobSite} from '../../../src/jobs/site.js'

describe('following a finished log on this machine', () => {
  const roots: string[] = []
  afterAll(() => {
    for (const root of roots) rmSync(root, {recursive: true, force: true})
  })
  const makeJob = (cloudwatch: boolean) => {
    const root = mkdtempSync(join(tmpdir(), 'orch-follow-'))
    roots.push(root)
    mkdirSync(join(root, 'j1'))
    writeFileSync(join(root, 'j1', 'meta.json'), `${JSON.stringify({name: 'j1', command: 'true', target: 'local', host: 'local', createdAt: new Date().toISOString(), cwd: null, envNames: [], cloudwatch})}\n`)
    writeFileSync(join(root, 'j1', 'run.log'), 'one\ntwo\n[EXIT: 3]\n')
    writeFileSync(join(root, 'j1', 'exit'), '3\n')
    return new JobSite(new LocalHost(), root)
  }

  it.each([true, false])('reports the exit status, and whether to ship to CloudWatch (%s), in the same round trip', async (cloudwatch) => {
    const chunks: Buffer[] = []
    const result = await readLog(makeJob(cloudwatch), 'j1', {follow: true, write: (chunk) => void chunks.push(chunk)})
    expect(Buffer.concat(chunks).toString()).toBe('one\ntwo\n[EXIT: 3]\n')
    expect(result).toMatchObject({exitCode: 3, vanished: false, shipToCloudWatch: cloudwatch})
  })

  it('refuses an unknown job', async () => {
    await expect(readLog(makeJob(false), 'nope', {follow: true, write: () => {}})).rejects.toMatchObject({kind: 'notFound'})
  })
})
