/** The envelope a script travels in past a login shell, run by the real dash and bash. */
import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'

import {MarkerGate, envelope, LOGIN_COMMAND} from '../../../src/hosts/script-envelope.js'
import {findTool} from '../../helpers/requirements.js'

/** Feed the envelope to `shell -s` through a pipe (as sshd does), data only after the marker. */
function runEnvelope(shell: string, script: string, args: string[], data: string): Promise<{code: number | null; stdout: string; stderr: string}> {
  const sent = envelope(script, args)
  const child = spawn(shell, ['-c', LOGIN_COMMAND], {stdio: ['pipe', 'pipe', 'pipe']})
  const out = new MarkerGate(sent.marker)
  const err = new MarkerGate(sent.marker)
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdin.write(sent.text)
  child.stdout.on('data', (chunk: Buffer) => {
    const wasOpen = out.opened
    stdout.push(out.feed(chunk))
    // A delay, so a shell reading ahead would have nothing more to swallow anyway.
    if (!wasOpen && out.opened) setTimeout(() => child.stdin.end(data), 50)
  })
  child.stderr.on('data', (chunk: Buffer) => stderr.push(err.feed(chunk)))
  return new Promise((resolve) => child.once('close', (code) => resolve({code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString()})))
}

describe('envelope', () => {
  it('the login shell sees one fixed line with no quote, backslash or $', () => {
    expect(LOGIN_COMMAND).toMatch(/^[a-z /-]+$/)
  })

  for (const shell of ['dash', 'bash']) {
    it.skipIf(!findTool(shell))(`${shell}: the script and its arguments arrive exactly; stdin data after the marker reaches the script`, async () => {
      const args = ["a'b", 'c\\d', 'new\nline', '', '$HOME `id`', '日本語 🚀', 'ORCH_SCRIPT_x']
      const script = 'printf "[%s]\\n" "$0" "$@"; echo "x\\\\y" >&2; cat; exit 3'
      const result = await runEnvelope(findTool(shell)!, script, args, 'DATA\\n\'"\n')
      expect(result).toEqual({code: 3, stdout: `[orch]\n${args.map((a) => `[${a}]\n`).join('')}DATA\\n'"\n`, stderr: 'x\\y\n'})
    })
  }

  it('a script holding the here-document word of another envelope is unharmed', async () => {
    const first = envelope('echo one', [], 'aaaa')
    const result = await runEnvelope('/bin/sh', `cat <<'EOF'\n${first.text}EOF`, [], '')
    expect(result.stdout).toBe(first.text)
  })
})

describe('MarkerGate', () => {
  it('drops everything up to the end of the marker line, across chunk boundaries, and passes the rest', () => {
    const gate = new MarkerGate('ORCH-abc-BEGIN')
    const parts = ['noise without newline', 'ORCH-a', 'bc-BEG', 'IN', '\r', '\nout', 'put\n']
    const passed = parts.map((part) => gate.feed(Buffer.from(part)).toString()).join('')
    expect(passed).toBe('output\n')
    expect(gate.opened).toBe(true)
  })

  it('keeps what came without a marker, for an error message', () => {
    const gate = new MarkerGate('ORCH-abc-BEGIN')
    gate.feed(Buffer.from('This account is currently not available.\n'))
    expect(gate.opened).toBe(false)
    expect(gate.unmatched()).toBe('This account is currently not available.\n')
  })
})
