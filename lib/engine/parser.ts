// Streaming frame parser (RFC 6455 section 5.2). Bytes go in through `push(chunk)` in any split;
// frame-level violations are detected from the header alone, before any payload is buffered.
// Data payloads are unmasked in place and handed on piece by piece (views into the chunk, no
// copies); control payloads (at most 125 bytes) are handed on whole.
//
// With `transient` set, every chunk pushed is a view of a buffer that is overwritten once `push`
// returns (the transport reads into one buffer shared by all connections): whatever the parser
// keeps beyond the call (bytes waiting while paused, control payloads) is copied, and the handler
// must copy the data pieces it keeps.
import { wsError, type WebSocketError } from '../errors'
import {
  FIN_BIT, RSV1_BIT, MASK_BIT, LENGTH_16, LENGTH_64, MAX_CONTROL_PAYLOAD,
  OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PONG,
  type Role
} from './constants'
import { applyMask } from './mask'

/** What the parser hands on. Implemented once per connection class, not as closures. */
export interface FrameHandler {
  /**
   * A piece of a data frame's payload, already unmasked. `frameDone` marks the frame's last piece
   * (a zero-length frame gives one empty piece), `messageDone` the last piece of the message.
   * The message's opcode and RSV1 are on the parser (`messageOpcode`, `compressed`) during the call.
   * The piece is a view into the chunk: with a `transient` parser, valid only during the call.
   */
  onDataPiece (piece: Buffer, frameDone: boolean, messageDone: boolean): void
  /**
   * A whole control frame (close, ping, pong). The payload may be a view into the chunk, never
   * into a `transient` one: the handler may keep it.
   */
  onControlFrame (opcode: number, payload: Buffer): void
  /** A framing violation; the parser has stopped. */
  onParseError (err: WebSocketError): void
}

export interface ParserOptions {
  role: Role
  /** largest message (sum of its frames' payloads) accepted, in bytes */
  maxPayload: number
  /** whether RSV1 may be set (permessage-deflate was negotiated, RFC 7692 section 6) */
  allowRsv1?: boolean
  /** most frames one message may arrive in, empty ones included (default 65536, 0: no limit) */
  maxFragments?: number
}

/** Enough for 4 MiB in 64-byte frames (the smallest the Autobahn testsuite sends), no more. */
export const DEFAULT_MAX_FRAGMENTS = 65536

const STATE_HEADER = 0
const STATE_PAYLOAD = 1
const STATE_STOPPED = 2
const MAX_HEADER = 14

export class FrameParser {
  /** opcode of the message in progress (text or binary), or 0 between messages */
  messageOpcode = 0
  /** FIN bit of the current data frame */
  fin = false
  /** RSV1 of the message in progress: compressed (RFC 7692 section 6) */
  compressed = false
  /** payload bytes of the message in progress counted so far, for the maxPayload check */
  messageLength = 0
  /** frames of the message in progress so far, for the maxFragments check */
  messageFrames = 0
  /** chunks are reused once `push` returns: keep copies, never views (see the top of the file) */
  transient = false

  private state = STATE_HEADER
  private readonly handler: FrameHandler
  private readonly expectMask: boolean
  private readonly maxPayload: number
  private readonly maxFragments: number
  private readonly allowRsv1: boolean
  // current frame
  private opcode = 0
  private masked = false
  /** the frame's masking key as one 32-bit number: a Buffer per connection would cost ~190 bytes */
  private maskWord = 0
  private payloadLeft = 0
  private maskPhase = 0
  // a frame header split across chunks, gathered here
  private headerBuf: Buffer | null = null
  private headerHave = 0
  // a control payload split across chunks, gathered here
  private controlBuf: Buffer | null = null
  private controlHave = 0
  private paused = false
  private backlog: Buffer[] | null = null
  private backlogBytes = 0

  constructor (handler: FrameHandler, options: ParserOptions) {
    this.handler = handler
    // Section 5.1: a server MUST fail on unmasked client frames; a client MUST fail on masked ones.
    this.expectMask = options.role === 'server'
    this.maxPayload = options.maxPayload
    this.allowRsv1 = options.allowRsv1 === true
    this.maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS
  }

  get stopped (): boolean { return this.state === STATE_STOPPED }

  /** Stop parsing for good (after a close frame or an error); later bytes are ignored. */
  stop (): void {
    this.state = STATE_STOPPED
    this.backlog = null
    this.backlogBytes = 0
    this.headerBuf = null
    this.controlBuf = null
  }

  get isPaused (): boolean { return this.paused }

  /** Hold further frames (e.g. while a compressed message inflates); bytes pushed meanwhile wait. */
  pause (): void { this.paused = true }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    const backlog = this.backlog
    this.backlog = null
    this.backlogBytes = 0
    if (backlog !== null) {
      for (let i = 0; i < backlog.length; i++) {
        if (this.paused) {
          // what push() kept of the chunk that paused us comes first, then the chunks after it
          const rest = backlog.slice(i)
          const kept = this.backlog as Buffer[] | null // push() may have set it meanwhile
          this.backlog = kept === null ? rest : kept.concat(rest)
          for (let j = 0; j < rest.length; j++) this.backlogBytes += rest[j].length
          return
        }
        this.push(backlog[i])
      }
    }
  }

  /** Bytes waiting while paused (the socket layer stops reading when this grows). */
  get backlogLength (): number { return this.backlogBytes }

  push (chunk: Buffer): void {
    let pos = 0
    const len = chunk.length
    while (pos < len) {
      if (this.paused) {
        if (this.backlog === null) this.backlog = []
        const rest = pos === 0 ? chunk : chunk.subarray(pos)
        this.backlog.push(this.transient ? Buffer.from(rest) : rest)
        this.backlogBytes += rest.length
        return
      }
      if (this.state === STATE_PAYLOAD) {
        pos = this.readPayload(chunk, pos)
      } else if (this.state === STATE_HEADER) {
        pos = this.readHeader(chunk, pos)
      } else {
        return
      }
    }
  }

  private readHeader (chunk: Buffer, pos: number): number {
    if (this.headerHave === 0) {
      // fast path: the whole header lies in this chunk
      const size = headerSize(chunk, pos, chunk.length)
      if (size !== 0) {
        this.decodeHeader(chunk, pos)
        return pos + size
      }
    }
    // gather the split header
    if (this.headerBuf === null) this.headerBuf = Buffer.allocUnsafe(MAX_HEADER)
    const take = Math.min(MAX_HEADER - this.headerHave, chunk.length - pos)
    chunk.copy(this.headerBuf, this.headerHave, pos, pos + take)
    const had = this.headerHave
    this.headerHave += take
    const size = headerSize(this.headerBuf, 0, this.headerHave)
    if (size === 0) return pos + take
    this.headerHave = 0
    this.decodeHeader(this.headerBuf, 0)
    this.headerBuf = null
    return pos + (size - had)
  }

  /** Decode and validate a complete header at `buf[off]`, then enter the payload state. */
  private decodeHeader (buf: Buffer, off: number): void {
    const b0 = buf[off]
    const b1 = buf[off + 1]
    const fin = (b0 & FIN_BIT) !== 0
    const opcode = b0 & 0x0f
    const rsv1 = (b0 & RSV1_BIT) !== 0
    let p = off + 2

    // Section 5.2: RSV bits MUST be 0 unless an extension defines them. RFC 7692 section 6.1:
    // RSV1 only on the first frame of a data message.
    if ((b0 & 0x30) !== 0 || (rsv1 && (!this.allowRsv1 || opcode === OPCODE_CONTINUATION || opcode >= OPCODE_CLOSE))) {
      return this.fail((b0 & 0x30) !== 0 ? 'WS_ERR_UNEXPECTED_RSV_2_3' : 'WS_ERR_UNEXPECTED_RSV_1', `byte 0x${b0.toString(16)}`)
    }
    const masked = (b1 & MASK_BIT) !== 0
    if (masked !== this.expectMask) {
      return this.fail(this.expectMask ? 'WS_ERR_EXPECTED_MASK' : 'WS_ERR_UNEXPECTED_MASK')
    }
    let length = b1 & 0x7f
    if (length === LENGTH_16) {
      length = buf.readUInt16BE(p)
      p += 2
    } else if (length === LENGTH_64) {
      const high = buf.readUInt32BE(p)
      // Section 5.2: the most significant bit of a 64-bit length MUST be 0.
      if (high > 0x7fffffff) return this.fail('WS_ERR_INVALID_LENGTH', 'most significant bit set')
      length = high * 0x100000000 + buf.readUInt32BE(p + 4)
      p += 8
    }

    if (opcode >= OPCODE_CLOSE) {
      if (opcode > OPCODE_PONG) return this.fail('WS_ERR_INVALID_OPCODE', `0x${opcode.toString(16)}`)
      // Section 5.5: control frames MUST NOT be fragmented and carry at most 125 bytes.
      if (!fin) return this.fail('WS_ERR_FRAGMENTED_CONTROL')
      if (length > MAX_CONTROL_PAYLOAD) return this.fail('WS_ERR_CONTROL_TOO_LONG', `${length} bytes`)
    } else if (opcode === OPCODE_CONTINUATION) {
      // Section 5.4: a continuation needs a fragmented message in progress.
      if (this.messageOpcode === 0) return this.fail('WS_ERR_UNEXPECTED_CONTINUATION')
      // Every frame counts, empty ones too: a message in millions of empty frames costs the
      // reader work per frame while adding nothing toward maxPayload.
      if (++this.messageFrames > this.maxFragments && this.maxFragments > 0) {
        return this.fail('WS_ERR_TOO_MANY_FRAGMENTS', `more than ${this.maxFragments} frames`)
      }
    } else if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
      // Section 5.4: fragments of one message MUST NOT be interleaved with another message.
      if (this.messageOpcode !== 0) return this.fail('WS_ERR_EXPECTED_CONTINUATION')
      this.messageOpcode = opcode
      this.compressed = rsv1
      this.messageLength = 0
      this.messageFrames = 1
    } else {
      return this.fail('WS_ERR_INVALID_OPCODE', `0x${opcode.toString(16)}`)
    }

    if (opcode < OPCODE_CLOSE) {
      // checked from the header, before any of the payload is buffered
      if (length > this.maxPayload - this.messageLength) {
        return this.fail('WS_ERR_MESSAGE_TOO_BIG', `more than ${this.maxPayload} bytes`)
      }
      this.messageLength += length
      this.fin = fin
    }
    this.opcode = opcode
    this.masked = masked
    if (masked) this.maskWord = buf.readInt32BE(p)
    this.payloadLeft = length
    this.maskPhase = 0
    this.state = STATE_PAYLOAD
    if (length === 0) this.finishEmptyFrame()
  }

  private finishEmptyFrame (): void {
    this.state = STATE_HEADER
    if (this.opcode >= OPCODE_CLOSE) {
      this.handler.onControlFrame(this.opcode, EMPTY)
    } else {
      this.dataPiece(EMPTY, true)
    }
  }

  private readPayload (chunk: Buffer, pos: number): number {
    const avail = chunk.length - pos
    const n = avail < this.payloadLeft ? avail : this.payloadLeft
    const end = pos + n
    if (this.masked) {
      MASK_KEY.writeInt32BE(this.maskWord, 0)
      this.maskPhase = applyMask(chunk, pos, end, MASK_KEY, this.maskPhase)
    }
    this.payloadLeft -= n
    const done = this.payloadLeft === 0
    if (done) this.state = STATE_HEADER

    if (this.opcode < OPCODE_CLOSE) {
      this.dataPiece(chunk.subarray(pos, end), done)
      return end
    }
    // control frame: deliver whole; gather it if it is split across chunks
    if (done && this.controlHave === 0) {
      const payload = chunk.subarray(pos, end)
      this.handler.onControlFrame(this.opcode, this.transient ? Buffer.from(payload) : payload)
      return end
    }
    if (this.controlBuf === null) this.controlBuf = Buffer.allocUnsafe(MAX_CONTROL_PAYLOAD)
    chunk.copy(this.controlBuf, this.controlHave, pos, end)
    this.controlHave += n
    if (done) {
      // a copy: the gathering buffer is released and the handler may keep the payload
      const payload = Buffer.from(this.controlBuf.subarray(0, this.controlHave))
      this.controlHave = 0
      this.controlBuf = null
      this.handler.onControlFrame(this.opcode, payload)
    }
    return end
  }

  private dataPiece (piece: Buffer, frameDone: boolean): void {
    if (!frameDone || !this.fin) {
      this.handler.onDataPiece(piece, frameDone, false)
      return
    }
    // The handler sees the message's opcode and RSV1 on the parser; the next frame starts clean.
    this.handler.onDataPiece(piece, true, true)
    this.messageOpcode = 0
    this.messageLength = 0
    this.messageFrames = 0
    this.compressed = false
  }

  private fail (code: Parameters<typeof wsError>[0], detail?: string): void {
    this.stop()
    this.handler.onParseError(wsError(code, detail))
  }
}

const EMPTY = Buffer.alloc(0)
/** scratch for the current frame's key, shared: parsing is synchronous, one frame at a time */
const MASK_KEY = Buffer.alloc(4)

/** Size of the frame header starting at `buf[off]`, or 0 if fewer than that many bytes are there. */
function headerSize (buf: Uint8Array, off: number, end: number): number {
  if (end - off < 2) return 0
  const b1 = buf[off + 1]
  const len7 = b1 & 0x7f
  const size = 2 + (len7 === LENGTH_16 ? 2 : len7 === LENGTH_64 ? 8 : 0) + ((b1 & MASK_BIT) !== 0 ? 4 : 0)
  return end - off >= size ? size : 0
}
