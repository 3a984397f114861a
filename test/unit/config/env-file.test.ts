import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse as dotenvParse} from 'dotenv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ENV_FILE_MAX_BYTES, parseEnvFile, readEnvFile} from '../../../src/config/env-file.js'
import {OrchError} from '../../../src/output/errors.js'

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'orch-env-file-'))
})
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function refusal(fn: () => unknown): OrchError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError)
    return error as OrchError
  }
  throw new Error('expected a refusal')
}

describe('parseEnvFile: what dotenv reads, orch reads the same', () => {
  const valid: Array<[string, string]> = [
    ['plain', 'A=1\nB=two words\n'],
    ['export, spaces around =, CRLF, BOM', '\uFEFFexport A = 1\r\nB=  x  \r\n'],
    ['comments and blank lines', '# a comment\n\n  # indented\nA=1 # trailing comment\n'],
    ['quotes', `S='single "x"'\nD="a b"\nB=\`x y\`\nE=\nQ='# not a comment'\n`],
    ['double quotes expand \\n, single do not', 'D="a\\nb"\nS=\'a\\nb\'\n'],
    ['multi-line quoted value', 'K="-----BEGIN-----\nline\n-----END-----"\nNEXT=1\n'],
    ['equals in the value', 'URL=https://x.example/?a=b&c=d\n'],
    ['no final newline', 'A=1'],
    ['non-ASCII value', 'A=日本語 ü\n'],
  ]
  it.each(valid)('%s', (_, text) => {
    const parsed = parseEnvFile(text)
    expect(parsed.ok).toBe(true)
    if (parsed.ok) expect(parsed.env).toEqual(dotenvParse(text))
  })
})

describe('parseEnvFile: every bad line is refused with its number, never dropped', () => {
  const bad: Array<[string, string, number[], RegExp]> = [
    ['a space in the name', 'OK=1\nAPI TOKEN=secret\n', [2], /"API TOKEN" is not a variable name/],
    ['a name starting with a digit', '1A=x\n', [1], /"1A" is not a variable name/],
    ['a dash or dot in the name', 'A-B=1\nA.B=2\n', [1, 2], /not a variable name/],
    ['no =', 'A=1\njust some words\n', [2], /has no "="/],
    ['YAML style', 'A: 1\n', [1], /has no "="/],
    ['unclosed quote', 'A=1\nB="open\nC=2\n', [2], /quote is never closed/],
    ['text after a closing quote', "A='x' y\n", [1], /after the closing ' quote/],
    ['# glued to an unquoted value', 'PASS=ab#cd\n', [1], /holds "#"/],
    ['several bad lines', 'A B=1\nok=1\nC D=2\n', [1, 3], /not a variable name/],
  ]
  it.each(bad)('%s', (_, text, lines, problem) => {
    const parsed = parseEnvFile(text)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.problems.map((p) => p.line)).toEqual(lines)
    expect(parsed.problems[0]!.problem).toMatch(problem)
  })

  it('binary content: a NUL byte, invalid UTF-8, control characters', () => {
    for (const bytes of [Buffer.from('A=1\nB=\0\0\n'), Buffer.from([0x41, 0x3d, 0xff, 0xfe, 0x0a]), Buffer.from('A=\x1b[31m\n'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01])]) {
      const parsed = parseEnvFile(bytes)
      expect(parsed.ok).toBe(false)
      if (!parsed.ok) expect(parsed.problems[0]!.problem).toMatch(/binary/)
    }
  })

  it('a message never holds a value', () => {
    const parsed = parseEnvFile('API TOKEN=hunter2-secret\nhunter3-secret\nX="hunter4-secret\n')
    expect(JSON.stringify(parsed)).not.toMatch(/hunter/)
  })
})

describe('readEnvFile: the file itself', () => {
  const write = (name: string, text: string | Buffer) => {
    const path = join(tmp, name)
    writeFileSync(path, text)
    return path
  }

  it('reads a good file (and one behind a symlink)', () => {
    const path = write('good.env', 'A=1\nB="two"\n')
    expect(readEnvFile(path)).toEqual({A: '1', B: 'two'})
    symlinkSync(path, join(tmp, 'link.env'))
    expect(readEnvFile(join(tmp, 'link.env'))).toEqual({A: '1', B: 'two'})
  })

  it('bad lines: one line naming each, a usage error', () => {
    const error = refusal(() => readEnvFile(write('bad.env', 'OK=1\nAPI TOKEN=secret\nword\n')))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(`--env-file ${join(tmp, 'bad.env')} is not a valid env file: line 2 "API TOKEN" is not a variable name (letters, digits and _, not starting with a digit); line 3 has no "=": expected NAME=value`)
    expect(error.message).not.toMatch(/secret/)
  })

  it('missing, under a file, a directory, a FIFO (without hanging), a device, too large, binary', () => {
    const cases: Array<[string, RegExp]> = [
      [join(tmp, 'nonexistent.env'), /does not exist$/],
      [join(write('plain', 'x'), 'below.env'), /does not exist$/],
      [tmp, /is a directory, not a file$/],
      ['/dev/null', /is a device, not a file$/],
      [write('big.env', `A=${'x'.repeat(ENV_FILE_MAX_BYTES)}\n`), /larger than 1 MiB/],
      [write('bin.env', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0])), /binary file/],
    ]
    const fifo = join(tmp, 'fifo.env')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    cases.push([fifo, /is a named pipe \(FIFO\), not a file$/])
    for (const [path, message] of cases) {
      const error = refusal(() => readEnvFile(path))
      expect(error.exitCode, path).toBe(2)
      expect(error.message.split('\n')).toHaveLength(1)
      expect(error.message).toMatch(message)
    }
  })

  it('unreadable (not as root: root reads any file)', (context) => {
    if (process.getuid?.() === 0) {
      console.log('skipped: running as root, which can read a 0000 file')
      context.skip()
    }
    const path = write('secret.env', 'A=1\n')
    chmodSync(path, 0o000)
    expect(refusal(() => readEnvFile(path)).message).toMatch(/cannot be read \(permission denied\)$/)
  })

  it('an unreadable directory on the path', (context) => {
    if (process.getuid?.() === 0) {
      console.log('skipped: running as root, which can search a 0000 directory')
      context.skip()
    }
    const dir = join(tmp, 'closed')
    mkdirSync(dir)
    write('closed/a.env', 'A=1\n')
    chmodSync(dir, 0o000)
    try {
      expect(refusal(() => readEnvFile(join(dir, 'a.env'))).message).toMatch(/permission denied/)
    } finally {
      chmodSync(dir, 0o755)
    }
  })
})
