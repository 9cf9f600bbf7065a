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

/** A reply: simple string, error, integer, bulk string (Buffer; null for $-1), array (null for *-1). */
export type RespValue = string | RespError | number | Buffer | null | RespValue[]

export interface RespLimits {
  /** largest bulk string accepted (default 512 MiB, Redis's own proto-max-bulk-len) */
  maxBulkLength?: number
  /** most elements in one array (default 1 Mi) */
  maxArrayLength?: number
  /** deepest array nesting (default 8; pub/sub replies are one level deep) */
  maxDepth?: number
  /** longest header or simple-string line, CRLF excluded (default 64 KiB) */
  maxLineLength?: number
}

const CR = 0x0d
const LF = 0x0a
const CRLF = Buffer.from('\r\n')
const EMPTY = Buffer.alloc(0)

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
 * per complete top-level reply, in order. A malformed or over-limit reply throws
 * WS_ERR_REDIS_PROTOCOL; the parser is then unusable until `reset()` (the connection is dropped).
 */
export class RespParser {
  private readonly onReply: (value: RespValue) => void
  private readonly maxBulkLength: number
  private readonly maxArrayLength: number
  private readonly maxDepth: number
  private readonly maxLineLength: number
  /** bytes received and not yet parsed */
  private buffer: Buffer = EMPTY
  /** chunks held while a bulk string is incomplete, joined once it is (no quadratic concat) */
  private held: Buffer[] = []
  private heldBytes = 0
  /** payload length of the bulk string being received, -1 between values */
  private bulkLength = -1
  private readonly stack: OpenArray[] = []

  constructor (onReply: (value: RespValue) => void, limits: RespLimits = {}) {
    this.onReply = onReply
    this.maxBulkLength = limits.maxBulkLength ?? 512 * 1024 * 1024
    this.maxArrayLength = limits.maxArrayLength ?? 1024 * 1024
    this.maxDepth = limits.maxDepth ?? 8
    this.maxLineLength = limits.maxLineLength ?? 64 * 1024
  }

  /** Forget any partial reply (a new connection starts from a clean state). */
  reset (): void {
    this.buffer = EMPTY
    this.held = []
    this.heldBytes = 0
    this.bulkLength = -1
    this.stack.length = 0
  }

  feed (chunk: Buffer): void {
    if (this.bulkLength >= 0) {
      // waiting for a bulk payload: hold chunks until all of it (and its CRLF) is here
      this.held.push(chunk)
      this.heldBytes += chunk.length
      if (this.buffer.length + this.heldBytes < this.bulkLength + 2) return
      this.buffer = Buffer.concat([this.buffer, ...this.held])
      this.held = []
      this.heldBytes = 0
    } else {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    }
    const buf = this.buffer
    let at = 0
    while (at < buf.length) {
      if (this.bulkLength >= 0) {
        const end = at + this.bulkLength
        if (buf.length < end + 2) break
        if (buf[end] !== CR || buf[end + 1] !== LF) throw protocolError('bulk string not followed by CRLF')
        // a copy: a subarray would keep the whole socket chunk alive as long as the message lives
        const value = Buffer.from(buf.subarray(at, end))
        this.bulkLength = -1
        at = end + 2
        this.emit(value)
        continue
      }
      // a line is a type byte, its text, then CRLF
      const lf = buf.indexOf(LF, at)
      if (lf === -1) {
        if (buf.length - at > this.maxLineLength + 2) throw protocolError('line too long')
        break
      }
      if (lf < at + 2 || buf[lf - 1] !== CR) throw protocolError('line not ended by CRLF')
      if (lf - at - 2 > this.maxLineLength) throw protocolError('line too long')
      const start = at
      at = lf + 1
      this.parseLine(buf, start, lf - 1)
    }
    this.buffer = at === buf.length ? EMPTY : buf.subarray(at)
  }

  /** One header or simple line: `buf[start]` is its type, its text runs to `end` (the CR). */
  private parseLine (buf: Buffer, start: number, end: number): void {
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
        if (length > this.maxBulkLength) throw protocolError(`bulk string of ${length} bytes is over the limit`)
        if (length === -1) this.emit(null)
        else this.bulkLength = length
        return
      }
      case 0x2a: { // '*' array header
        const length = parseInteger(buf.toString('latin1', start + 1, end), -1)
        if (length > this.maxArrayLength) throw protocolError(`array of ${length} elements is over the limit`)
        if (length === -1) this.emit(null)
        else if (length === 0) this.emit([])
        else {
          if (this.stack.length >= this.maxDepth) throw protocolError('arrays nested too deep')
          this.stack.push({ items: [], length })
        }
        return
      }
      default:
        throw protocolError(`unknown reply type 0x${type.toString(16)}`)
    }
  }

  /** A value is complete: it fills the innermost open array, or is a whole reply. */
  private emit (value: RespValue): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1]
      if (top === undefined) {
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
