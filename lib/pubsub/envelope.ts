// The envelope: a published message as the bytes of one Redis pub/sub message. Compact and
// binary (no JSON, no base64): the data travels as it is, after a few bytes of header.
//   byte 0     version, 1
//   byte 1     flags: bit 0 binary, bit 1 exceptSocket present; other bits zero
//   byte 2     origin length O (1-255), then O bytes of origin (UTF-8)
//   (bit 1)    exceptSocket length E (1-255), then E bytes of it (UTF-8)
//   the rest   the data, as published
// The topic is not repeated: it is the channel. Anything else on the channel opens to null.
import { wsError } from '../errors'
import type { PublishedMessage } from './adapter'
import { isId } from './resume'

/** The longest header: version, flags, origin and exceptSocket of 255 bytes each with their lengths. */
export const MAX_ENVELOPE_HEADER = 3 + 255 + 1 + 255

const ENVELOPE_VERSION = 1
const FLAG_BINARY = 1
const FLAG_EXCEPT = 2

/** The header to send before `message.data` (the data is not copied here). */
export function envelopeHeader (message: PublishedMessage): Buffer {
  const origin = Buffer.from(message.origin)
  const except = message.exceptSocket === null ? null : Buffer.from(message.exceptSocket)
  if (origin.length === 0 || origin.length > 255 || (except !== null && (except.length === 0 || except.length > 255))) {
    throw wsError('WS_ERR_INVALID_OPTION', 'pub/sub origin and socket ids must be 1 to 255 bytes')
  }
  const header = Buffer.allocUnsafe(3 + origin.length + (except === null ? 0 : 1 + except.length))
  header[0] = ENVELOPE_VERSION
  header[1] = (message.binary ? FLAG_BINARY : 0) | (except === null ? 0 : FLAG_EXCEPT)
  header[2] = origin.length
  let at = 3 + origin.copy(header, 3)
  if (except !== null) {
    header[at++] = except.length
    except.copy(header, at)
  }
  return header
}

/** The message an envelope carries, or null if it is not one of ours. */
export function openEnvelope (topic: string, bytes: Buffer): PublishedMessage | null {
  if (bytes.length < 3 || bytes[0] !== ENVELOPE_VERSION || (bytes[1] & ~(FLAG_BINARY | FLAG_EXCEPT)) !== 0) return null
  const flags = bytes[1]
  const originEnd = 3 + bytes[2]
  if (bytes[2] === 0 || originEnd > bytes.length) return null
  let at = originEnd
  let exceptSocket: string | null = null
  if ((flags & FLAG_EXCEPT) !== 0) {
    const end = at + 1 + (bytes[at] ?? 0)
    if (at >= bytes.length || bytes[at] === 0 || end > bytes.length) return null
    exceptSocket = bytes.toString('utf8', at + 1, end)
    at = end
  }
  return {
    topic,
    data: bytes.subarray(at),
    binary: (flags & FLAG_BINARY) !== 0,
    origin: bytes.toString('utf8', 3, originEnd),
    exceptSocket
  }
}

/**
 * A resumable topic's message as the Redis Streams adapter publishes it (redis-scripts.ts):
 *   byte 0  2;  byte 1  id length N (3-63);  N bytes of id (`<ms>-<seq>`);  then an envelope as above.
 */
export function openResumableEnvelope (topic: string, bytes: Buffer): PublishedMessage | null {
  if (bytes.length < 2 || bytes[0] !== 2) return null
  const end = 2 + bytes[1]
  if (bytes[1] < 3 || bytes[1] > 63 || end > bytes.length) return null
  const id = bytes.toString('latin1', 2, end)
  if (!isId(id)) return null
  const message = openEnvelope(topic, bytes.subarray(end))
  if (message !== null) message.id = id
  return message
}
