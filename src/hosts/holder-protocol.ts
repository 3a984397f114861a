/**
 * The connection holder's wire format, spoken over its Unix socket: one socket connection per
 * script. Every frame is a type byte, a 4-byte big-endian length and that many bytes.
 *
 *   client → holder   OPEN {script, args} · IN data · IN_END · ABORT · PING · QUIT
 *   holder → client   QUEUED (waiting for a channel) · STARTED (the channel is open: the script may
 *                     run from here on) · OUT data · ERR data · EXIT {code} · FAIL {message, started}
 *                     · PONG
 *
 * A FAIL with started false means the script never ran: the client may run it another way.
 * No ssh2 here: a command served by a holder does not load it.
 */
export const FRAME = {
  OPEN: 0x4f, // O
  IN: 0x49, // I
  IN_END: 0x45, // E
  ABORT: 0x41, // A
  PING: 0x50, // P
  QUIT: 0x51, // Q
  QUEUED: 0x71, // q
  STARTED: 0x53, // S
  OUT: 0x6f, // o
  ERR: 0x65, // e
  EXIT: 0x78, // x
  FAIL: 0x66, // f
  PONG: 0x70, // p
} as const

/** Bumped whenever frames change: part of the socket's name, so old and new never meet. */
export const PROTOCOL_VERSION = 1

/** Largest payload of one data frame. */
export const MAX_CHUNK = 64 * 1024

export function frame(type: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload
  const head = Buffer.allocUnsafe(5)
  head[0] = type
  head.writeUInt32BE(body.length, 1)
  return Buffer.concat([head, body])
}

export const jsonFrame = (type: number, value: unknown): Buffer => frame(type, JSON.stringify(value))

/** Data frames of at most MAX_CHUNK bytes each. */
export function dataFrames(type: number, data: Buffer): Buffer[] {
  const frames: Buffer[] = []
  for (let at = 0; at < data.length; at += MAX_CHUNK) frames.push(frame(type, data.subarray(at, at + MAX_CHUNK)))
  return frames
}

/** Cuts a byte stream into frames. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0)

  /** The complete frames `chunk` finished, in order; `tooBig` when a length is absurd (not our peer). */
  push(chunk: Buffer): {type: number; payload: Buffer}[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const frames: {type: number; payload: Buffer}[] = []
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1)
      if (length > 16 * 1024 * 1024) throw new Error('malformed frame from the connection holder')
      if (this.pending.length < 5 + length) break
      frames.push({type: this.pending[0]!, payload: this.pending.subarray(5, 5 + length)})
      this.pending = this.pending.subarray(5 + length)
    }
    return frames
  }
}
