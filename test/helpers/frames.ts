// Hand-built frames for tests, written independently of lib/engine/serializer.ts so that the
// parser is checked against bytes the engine did not produce itself.
import { randomBytes } from 'node:crypto'

export interface FrameSpec {
  opcode: number
  payload?: Uint8Array | string
  fin?: boolean
  rsv?: number
  /** a 4-byte key, true for a random key, false/undefined for none */
  mask?: Uint8Array | boolean
  /** force the length encoding: 7, 16 or 64 bits */
  lengthBits?: 7 | 16 | 64
}

export function frame (spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : Buffer.from(spec.payload ?? [])
  const len = payload.length
  const bits = spec.lengthBits ?? (len < 126 ? 7 : len < 65536 ? 16 : 64)
  const key = spec.mask === true ? randomBytes(4) : spec.mask instanceof Uint8Array ? Buffer.from(spec.mask) : null
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode]
  const maskBit = key === null ? 0 : 0x80
  if (bits === 7) head.push(maskBit | len)
  else if (bits === 16) head.push(maskBit | 126, len >> 8, len & 0xff)
  else {
    head.push(maskBit | 127)
    const hi = Math.floor(len / 2 ** 32)
    const lo = len >>> 0
    head.push(hi >>> 24, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff)
  }
  const body = Buffer.from(payload)
  if (key !== null) {
    head.push(...key)
    for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4]
  }
  return Buffer.concat([Buffer.from(head), body])
}

export function closePayload (code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason))
  b.writeUInt16BE(code, 0)
  b.write(reason, 2)
  return b
}

/** Split `buf` into pieces at the given offsets (views, no copies). */
export function splitAt (buf: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = []
  let last = 0
  for (const p of [...points].sort((a, b) => a - b)) {
    if (p <= last || p >= buf.length) continue
    out.push(buf.subarray(last, p))
    last = p
  }
  out.push(buf.subarray(last))
  return out
}

/** `key`: the masking key as sent (null when unmasked); `payload` is unmasked. */
export interface DecodedFrame { fin: boolean, rsv: number, opcode: number, masked: boolean, key: Buffer | null, payload: Buffer }

/** Decode complete frames from bytes (test oracle for what the engine writes). */
export function decodeFrames (buf: Buffer): DecodedFrame[] {
  const out: DecodedFrame[] = []
  let p = 0
  while (p < buf.length) {
    const b0 = buf[p]
    const b1 = buf[p + 1]
    let len = b1 & 0x7f
    let q = p + 2
    if (len === 126) { len = buf.readUInt16BE(q); q += 2 } else if (len === 127) { len = Number(buf.readBigUInt64BE(q)); q += 8 }
    const masked = (b1 & 0x80) !== 0
    let key: Buffer | null = null
    if (masked) { key = Buffer.from(buf.subarray(q, q + 4)); q += 4 }
    const payload = Buffer.from(buf.subarray(q, q + len))
    if (key !== null) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i % 4]
    out.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, key, payload })
    p = q + len
  }
  return out
}
