import {describe, expect, it} from 'vitest'

import {sbatchOptions, sbatchRefusal, timeLimitMinutes} from '../../../src/jobs/slurm-options.js'

describe('sbatch options of a Slurm job', () => {
  it('turns the profile and flags into sbatch options: --mem in MiB, --time with half again as margin', () => {
    expect(
      sbatchOptions({memoryBytes: 3 * 1024 ** 3 + 1, runtimeMs: 2 * 3_600_000, cpus: 4, gpus: 2, partition: 'gpu', account: 'lab-7', optionsText: ' --qos=long  --constraint=a100 ', options: ['--exclusive']}),
    ).toEqual(['--partition=gpu', '--account=lab-7', '--cpus-per-task=4', '--gpus=2', '--mem=3073M', '--time=180', '--qos=long', '--constraint=a100', '--exclusive'])
    expect(sbatchOptions({})).toEqual([])
  })

  it('rounds the time limit up to whole minutes, at least one', () => {
    expect(timeLimitMinutes(1000)).toBe(1)
    expect(timeLimitMinutes(40_000)).toBe(1)
    expect(timeLimitMinutes(41_000)).toBe(2)
    expect(timeLimitMinutes(10 * 60_000)).toBe(15)
  })

  it.each([
    [{partition: 'no such'}, /partition "no such" is not a Slurm partition name/],
    [{partition: 'a;b'}, /not a Slurm partition name/],
    [{account: '-x'}, /ORCH_SLURM_ACCOUNT "-x" is not a Slurm account name/],
    [{optionsText: 'qos=long'}, /ORCH_SLURM_OPTS option "qos=long" is not an sbatch option/],
    [{options: ['--comment=a b']}, /--sbatch-opt "--comment=a b" is not an sbatch option/],
    [{options: ['--job-name=x']}, /--sbatch-opt "--job-name=x" is set by orch/],
    [{options: ['-o/tmp/x']}, /"-o\/tmp\/x" is set by orch/],
    [{optionsText: '--wrap=true'}, /"--wrap=true" is set by orch/],
    [{options: ['--array=1-3']}, /is set by orch/],
  ])('refuses %j before anything is submitted', (request, message) => {
    expect(() => sbatchOptions(request)).toThrow(message)
  })

  it("makes sbatch's refusal one line", () => {
    expect(sbatchRefusal('sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n')).toBe('invalid partition specified: nope')
    expect(sbatchRefusal('')).toBe('no reason given')
  })
})
