'use strict'
// Client frames built once and masked once: the generator's hot loop only copies ready bytes.
const crypto = require('node:crypto')
const zlib = require('node:zlib')

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d])

/** One masked client frame (FIN set). `rsv1` marks a permessage-deflate compressed payload. */
function clientFrame (opcode, payload, rsv1 = false) {
  const len = payload.length
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8
  const frame = Buffer.allocUnsafe(2 + extra + 4 + len)
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode
  if (extra === 0) frame[1] = 0x80 | len
  else if (extra === 2) { frame[1] = 0x80 | 126; frame.writeUInt16BE(len, 2) } else {
    frame[1] = 0x80 | 127
    frame.writeUInt32BE(Math.floor(len / 0x100000000), 2)
    frame.writeUInt32BE(len >>> 0, 6)
  }
  const at = 2 + extra
  MASK.copy(frame, at)
  for (let i = 0; i < len; i++) frame[at + 4 + i] = payload[i] ^ MASK[i & 3]
  return frame
}

/** `copies` identical frames back to back, so k queued messages go out as one subarray write. */
function repeated (frame, copies) {
  const out = Buffer.allocUnsafe(frame.length * copies)
  for (let i = 0; i < copies; i++) frame.copy(out, i * frame.length)
  return out
}

/** ASCII text that compresses roughly like JSON (deterministic), or random bytes for binary. */
function payloadOf (size, binary) {
  if (binary) return crypto.randomBytes(size)
  const words = ['"id":', '"name":', '"value":', 'true', 'false', 'null', '{', '}', '[', ']', ',', 'alpha',
    'bravo', 'charlie', 'delta', '12345', '67.89', '"ok"', '"items":', 'echo']
  let seed = 12345
  const parts = []
  let len = 0
  while (len < size) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const w = words[seed % words.length]
    parts.push(w)
    len += w.length
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1')
}

/** permessage-deflate body for a message: raw deflate, sync flush, trailing 00 00 ff ff removed. */
function deflatePayload (payload) {
  const out = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}

const closeFrame = clientFrame(0x8, Buffer.from([0x03, 0xe8])) // 1000 normal closure

/**
 * A chat message of exactly `size` bytes, as JSON: {"type":"say","room":"lobby","text":"..."}
 * (bench/servers/json-ours.js validates and echoes it byte for byte).
 */
function jsonPayloadOf (size) {
  const empty = JSON.stringify({ type: 'say', room: 'lobby', text: '' })
  if (size < empty.length) throw new Error(`--json needs a size of at least ${empty.length}`)
  const words = 'the quick brown fox jumps over the lazy dog '
  const text = words.repeat(Math.ceil((size - empty.length) / words.length)).slice(0, size - empty.length)
  return Buffer.from(JSON.stringify({ type: 'say', room: 'lobby', text }))
}

module.exports = { clientFrame, repeated, payloadOf, jsonPayloadOf, deflatePayload, closeFrame }
