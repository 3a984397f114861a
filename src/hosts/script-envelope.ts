import {randomBytes} from 'node:crypto'

/**
 * How a script reaches an SSH host's /bin/sh with no login shell in the way.
 *
 * sshd runs every command through the user's login shell (bash, zsh, fish, tcsh, …), which parses
 * it with its own rules (fish reads `\\` and `\'` inside single quotes) and first runs its start-up
 * files, which may print. So the login shell only ever sees LOGIN_COMMAND: no quotes, no
 * backslashes, no variable, the same in every shell. Everything else travels on stdin, read by
 * /bin/sh:
 *
 *   orch_s=$(cat <<'ORCH_SCRIPT_<nonce>'     the script, verbatim (a quoted here-document)
 *   …
 *   ORCH_SCRIPT_<nonce>
 *   )
 *   printf 'ORCH-%s-BEGIN\n' <nonce>; printf … >&2; exec /bin/sh -c "$orch_s" orch 'arg1' …
 *
 * The last line runs the script exactly as `sh -c SCRIPT orch ARGS…` did before, and prints a
 * marker line on stdout and on stderr first: everything before it (a start-up file's output, an
 * interactive shell's prompt or a pty's echo) is dropped, and the script's stdin data is sent only
 * once the marker arrived, when the outer /bin/sh has read the whole envelope (dash reads stdin
 * ahead in blocks, so data sent earlier could be swallowed). The marker is printed with %s so the
 * envelope's own text (echoed on a pty) never holds it. Arguments are single-quoted for /bin/sh,
 * whose rule for that ('…' literal, ' as '\'') is exact for every byte but NUL, which no argument
 * holds.
 */
export const LOGIN_COMMAND = 'exec /bin/sh -s'

export interface Envelope {
  /** The bytes to write on stdin before any data. */
  text: string
  /** The line the script prints first on stdout and stderr (without its newline). */
  marker: string
}

export function envelope(script: string, args: readonly string[], nonce = randomBytes(12).toString('hex')): Envelope {
  const end = `ORCH_SCRIPT_${nonce}`
  const words = ['orch', ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ')
  const begin = `printf 'ORCH-%s-BEGIN\\n' ${nonce}`
  const text = `orch_s=$(cat <<'${end}'\n${script}\n${end}\n)\n${begin}; ${begin} >&2; exec /bin/sh -c "$orch_s" ${words}\n`
  return {text, marker: `ORCH-${nonce}-BEGIN`}
}

/**
 * Drops what comes before the marker line of one output stream (stdout or stderr) and passes the
 * rest through. What came before is kept (up to 64 KiB) for an error message when the marker never
 * came: the login shell failed or /bin/sh is missing.
 */
export class MarkerGate {
  private pending: Buffer = Buffer.alloc(0)
  private open = false
  private readonly marker: Buffer

  constructor(marker: string) {
    this.marker = Buffer.from(marker)
  }

  get opened(): boolean {
    return this.open
  }

  /** The part of `chunk` that is the script's own output (empty until the marker line ended). */
  feed(chunk: Buffer): Buffer {
    if (this.open) return chunk
    this.pending = Buffer.concat([this.pending, chunk])
    const at = this.pending.indexOf(this.marker)
    if (at >= 0) {
      const newline = this.pending.indexOf(0x0a, at + this.marker.length)
      if (newline < 0) return Buffer.alloc(0)
      this.open = true
      const rest = this.pending.subarray(newline + 1)
      this.pending = Buffer.alloc(0)
      return rest
    }
    // Keep enough to find a marker split across chunks, and a bounded tail for an error message.
    if (this.pending.length > 65_536) this.pending = this.pending.subarray(this.pending.length - 65_536)
    return Buffer.alloc(0)
  }

  /** What arrived without a marker after it (for an error message), as text. */
  unmatched(): string {
    return this.open ? '' : this.pending.toString('utf8')
  }
}
