// RESP2, the Redis wire protocol: a command encoder and a streaming reply parser. Just enough for
// the pub/sub adapter (AUTH, SELECT, PING, PUBLISH, SUBSCRIBE and their replies), binary-safe,
// and bounded so that a broken or hostile server cannot make us buffer without limit.
import { wsError } from '../errors'

/** One command argument: a string (UTF-8), a Buffer, or Buffers sent back to back as one argument. */
export type RespArgument = string | Buffer | readonly Buffer[]

/** An error reply (`-ERR ...`): a value, not a thrown error, so replies stay in order. */
export class RespError {
  constructor (readonly message: string) {}
}

/**
 * A bulk string longer than `maxBulkLength`: its bytes were read and dropped as they arrived,
 * never held, so the connection (and the replies after it) go on. It stands in the reply in place
 * of the Buffer.
 */
export class RespSkipped {
  constructor (readonly length: number) {}
}

/** A reply: simple string, error, integer, bulk string (Buffer; null for $-1), array (null for *-1). */
export type RespValue = string | RespError | RespSkipped | number | Buffer | null | RespValue[]

/**
 * What one reply may hold. A server that breaks them (a hostile one, or anything on the path)
 * gets WS_ERR_REDIS_REPLY_LIMIT at the header that would break them, before what it announces is
 * buffered. The defaults fit the pub/sub adapter, whose largest reply is ["message", channel,
 * payload].
 */
export interface RespLimits {
  /** longest bulk string kept (default 16 MiB + 1 KiB); longer ones are skipped, see RespSkipped */
  maxBulkLength?: number
  /** most array elements in one reply, those of nested arrays included (default 1024) */
  maxReplyElements?: number
  /** deepest array nesting (default 4; pub/sub replies are one level deep) */
  maxReplyDepth?: number
  /** most bytes one reply may hold: its lines and kept bulk strings (default 2 x maxBulkLength + 64 KiB) */
  maxReplyBytes?: number
  /** longest header or simple-string line, CRLF excluded (default 64 KiB) */
  maxLineLength?: number
}

/** The default largest kept bulk string: a 16 MiB message (the plugin's default maxPayload) and its envelope. */
export const DEFAULT_MAX_BULK_LENGTH = 16 * 1024 * 1024 + 1024
export const DEFAULT_MAX_REPLY_ELEMENTS = 1024
export const DEFAULT_MAX_REPLY_DEPTH = 4
const DEFAULT_MAX_LINE_LENGTH = 64 * 1024

const CR = 0x0d
const LF = 0x0a
const CRLF = Buffer.from('\r\n')
const EMPTY = Buffer.alloc(0)
/** every empty array reply is this one (frozen): a stream of them allocates nothing */
const EMPTY_ARRAY = Object.freeze([]) as unknown as RespValue[]

function argumentLength (arg: RespArgument): number {
  if (typeof arg === 'string') return Buffer.byteLength(arg)
  if (Buffer.isBuffer(arg)) return arg.length
  let n = 0
  for (const part of arg) n += part.length
  return n
}

/** Encode a command as a RESP array of bulk strings, in one Buffer (one copy of each argument). */
export function encodeCommand (args: readonly RespArgument[]): Buffer {
  const lengths = args.map(argumentLength)
  let size = 3 + String(args.length).length
  for (const len of lengths) size += 5 + String(len).length + len
  const out = Buffer.allocUnsafe(size)
  let at = out.write(`*${args.length}\r\n`, 0, 'latin1')
  for (let i = 0; i < args.length; i++) {
    at += out.write(`$${lengths[i]}\r\n`, at, 'latin1')
    const arg = args[i]
    if (typeof arg === 'string') at += out.write(arg, at, 'utf8')
    else if (Buffer.isBuffer(arg)) at += arg.copy(out, at)
    else for (const part of arg) at += part.copy(out, at)
    at += CRLF.copy(out, at)
  }
  return out
}

interface OpenArray {
  readonly items: RespValue[]
  readonly length: number
}

/**
 * Streaming reply parser: feed it chunks as they arrive, split anywhere; it calls `onReply` once
 * per complete top-level reply, in order. A malformed reply throws WS_ERR_REDIS_PROTOCOL, one over
 * a limit WS_ERR_REDIS_REPLY_LIMIT; the parser is then unusable until `reset()` (the connection
 * is dropped). Memory held is at most maxReplyBytes plus one line, whatever the server sends.
 */
export class RespParser {
  private readonly onReply: (value: RespValue) => void
  private readonly maxBulkLength: number
  private readonly maxReplyElements: number
  private readonly maxReplyDepth: number
  private readonly maxReplyBytes: number
  private readonly maxLineLength: number
  /** the start of a line whose LF has not arrived yet (a copy, at most maxLineLength + 2 bytes) */
  private partial: Buffer = EMPTY
  /** length of the bulk string being received, -1 between values */
  private bulkLength = -1
  /** where its bytes go, allocated once at its header (null: too long, dropped as they come) */
  private bulkTarget: Buffer | null = null
  private bulkFilled = 0
  /** bytes of the CRLF after it seen so far */
  private bulkCrlf = 0
  private readonly stack: OpenArray[] = []
  /** what the reply being parsed holds so far, against the limits */
  private replyElements = 0
  private replyBytes = 0

  constructor (onReply: (value: RespValue) => void, limits: RespLimits = {}) {
    this.onReply = onReply
    this.maxBulkLength = limits.maxBulkLength ?? DEFAULT_MAX_BULK_LENGTH
    this.maxReplyElements = limits.maxReplyElements ?? DEFAULT_MAX_REPLY_ELEMENTS
    this.maxReplyDepth = limits.maxReplyDepth ?? DEFAULT_MAX_REPLY_DEPTH
    this.maxReplyBytes = limits.maxReplyBytes ?? 2 * this.maxBulkLength + 64 * 1024
    this.maxLineLength = limits.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH
  }

  /** Forget any partial reply (a new connection starts from a clean state). */
  reset (): void {
    this.partial = EMPTY
    this.bulkLength = -1
    this.bulkTarget = null
    this.stack.length = 0
    this.replyElements = 0
    this.replyBytes = 0
  }

  feed (chunk: Buffer): void {
    let at = 0
    while (at < chunk.length) {
      if (this.bulkLength >= 0) {
        at = this.readBulk(chunk, at)
        continue
      }
      // a line is a type byte, its text, then CRLF
      const lf = chunk.indexOf(LF, at)
      const held = this.partial.length
      if (lf === -1) {
        // the line goes on in the next chunk: keep a copy of its start (not a view that would pin the chunk)
        if (held + chunk.length - at > this.maxLineLength + 2) throw limitError('line too long')
        this.partial = held === 0 ? Buffer.from(chunk.subarray(at)) : Buffer.concat([this.partial, chunk.subarray(at)])
        return
      }
      if (held + lf - at - 2 > this.maxLineLength) throw limitError('line too long')
      if (held === 0) {
        this.parseLine(chunk, at, lf)
      } else {
        const line = Buffer.concat([this.partial, chunk.subarray(at, lf + 1)])
        this.partial = EMPTY
        this.parseLine(line, 0, line.length - 1)
      }
      at = lf + 1
    }
  }

  /** Bytes of the bulk string being received, then its CRLF; returns where the chunk goes on. */
  private readBulk (chunk: Buffer, at: number): number {
    const take = Math.min(this.bulkLength - this.bulkFilled, chunk.length - at)
    // the one copy of the payload: straight from the socket's chunk to where it stays
    if (this.bulkTarget !== null && take > 0) chunk.copy(this.bulkTarget, this.bulkFilled, at, at + take)
    this.bulkFilled += take
    at += take
    while (this.bulkFilled === this.bulkLength && this.bulkCrlf < 2 && at < chunk.length) {
      if (chunk[at] !== (this.bulkCrlf === 0 ? CR : LF)) throw protocolError('bulk string not followed by CRLF')
      this.bulkCrlf++
      at++
    }
    if (this.bulkCrlf === 2) {
      const value = this.bulkTarget ?? new RespSkipped(this.bulkLength)
      this.bulkLength = -1
      this.bulkTarget = null
      this.emit(value)
    }
    return at
  }

  /** One header or simple line: `buf[start]` is its type, its text runs to the CR before `lf`. */
  private parseLine (buf: Buffer, start: number, lf: number): void {
    if (lf < start + 2 || buf[lf - 1] !== CR) throw protocolError('line not ended by CRLF')
    this.hold(lf + 1 - start)
    const end = lf - 1
    const type = buf[start]
    switch (type) {
      case 0x2b: // '+' simple string (UTF-8, as an error's text may hold a key name)
        this.emit(buf.toString('utf8', start + 1, end))
        return
      case 0x2d: // '-' error
        this.emit(new RespError(buf.toString('utf8', start + 1, end)))
        return
      case 0x3a: // ':' integer
        this.emit(parseInteger(buf.toString('latin1', start + 1, end), Number.MIN_SAFE_INTEGER))
        return
      case 0x24: { // '$' bulk string header
        const length = parseInteger(buf.toString('latin1', start + 1, end), -1)
        if (length === -1) {
          this.emit(null)
          return
        }
        this.bulkLength = length
        this.bulkFilled = 0
        this.bulkCrlf = 0
        if (length <= this.maxBulkLength) {
          // counted before the bytes arrive: a reply announcing more than it may hold stops here
          this.hold(length + 2)
          this.bulkTarget = Buffer.allocUnsafe(length)
        }
        return
      }
      case 0x2a: { // '*' array header
        const length = parseInteger(buf.toString('latin1', start + 1, end), -1)
        if (length === -1) this.emit(null)
        else if (length === 0) this.emit(EMPTY_ARRAY)
        else {
          if (this.stack.length >= this.maxReplyDepth) throw limitError(`arrays nested deeper than ${this.maxReplyDepth}`)
          this.replyElements += length
          if (this.replyElements > this.maxReplyElements) throw limitError(`reply of more than ${this.maxReplyElements} elements`)
          this.stack.push({ items: [], length })
        }
        return
      }
      default:
        throw protocolError(`unknown reply type 0x${type.toString(16)}`)
    }
  }

  /** Count `bytes` more held by the reply being parsed. */
  private hold (bytes: number): void {
    this.replyBytes += bytes
    if (this.replyBytes > this.maxReplyBytes) throw limitError(`reply of more than ${this.maxReplyBytes} bytes`)
  }

  /** A value is complete: it fills the innermost open array, or is a whole reply. */
  private emit (value: RespValue): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1]
      if (top === undefined) {
        this.replyElements = 0
        this.replyBytes = 0
        this.onReply(value)
        return
      }
      top.items.push(value)
      if (top.items.length < top.length) return
      this.stack.pop()
      value = top.items
    }
  }
}

/** A decimal integer line, strictly: optional '-', digits, a safe integer not below `min`. */
function parseInteger (line: string, min: number): number {
  if (!/^-?\d{1,16}$/.test(line)) throw protocolError(`invalid integer ${JSON.stringify(line.slice(0, 20))}`)
  const n = Number(line)
  if (!Number.isSafeInteger(n) || n < min) throw protocolError(`integer ${line} out of range`)
  return n
}

function protocolError (detail: string): Error {
  return wsError('WS_ERR_REDIS_PROTOCOL', detail)
}

function limitError (detail: string): Error {
  return wsError('WS_ERR_REDIS_REPLY_LIMIT', detail)
}
