// One WebSocket connection at the protocol level, with no I/O: bytes in through `receive()`,
// messages and control events out through a host object, frames out through `writer`. Timers
// are the host's too: it calls `tick(now)` from one shared interval for all connections, and the
// connection decides whether a heartbeat ping, a pong deadline or a close deadline is due.
import { wsError, WebSocketError, type WebSocketErrorCode } from '../errors'
import {
  OPEN, CLOSING, CLOSED, OPCODE_TEXT, OPCODE_CLOSE, OPCODE_PING,
  OPCODE_PONG, CLOSE_NO_STATUS, CLOSE_ABNORMAL, MAX_CONTROL_PAYLOAD, MAX_CLOSE_REASON_BYTES,
  DEFAULT_MAX_PAYLOAD, DEFAULT_CLOSE_TIMEOUT, type Role, type ReadyState
} from './constants'
import { FrameParser, type FrameHandler } from './parser'
import { FrameWriter } from './serializer'
import { Utf8Validator, isValidUtf8 } from './utf8'
import { isValidCloseCode } from './close-codes'
import { MessageAssembler } from './assembler'
import { PingTracker, type PingCallback } from './pings'
import type { PerMessageDeflate } from './deflate'
import { MessageInflater, type InflateSink } from './inflation'
import { SendQueue, type SendQueueOwner, type SentCallback, type SharedFrame } from './send-queue'

/** What a connection reports to whoever owns the transport. */
export interface ConnectionHost {
  onMessage (data: Buffer, isBinary: boolean): void
  onPing (data: Buffer): void
  onPong (data: Buffer): void
  /** Frames were queued on `connection.writer`: write them soon. */
  onOutput (): void
  /**
   * The protocol is done with the transport. `destroy` false: write what is queued, then end it
   * (close handshake complete, or the connection failed); true: tear it down now (a timeout).
   */
  onTransportEnd (destroy: boolean): void
  /** The connection failed (protocol error, invalid data, limit, timeout). */
  onError (err: WebSocketError): void
}

export interface ConnectionOptions {
  role: Role
  /** largest message accepted, in bytes (default 16 MiB); larger ones close 1009 */
  maxPayload?: number
  /** answer pings automatically (default true) */
  autoPong?: boolean
  /** ms to wait for the peer's close frame (or TCP close) after ours (default 5000) */
  closeTimeout?: number
  /** ms between heartbeat pings, 0 for none (default 0) */
  heartbeatInterval?: number
  /** ms a heartbeat ping may wait for its pong before the peer counts as dead (default: the interval) */
  pongTimeout?: number
  /** pings awaiting a pong at once (default 16) */
  maxPendingPings?: number
  /**
   * automatic pongs queued while the transport holds output the peer has not read (the host
   * sets `outputBacklogged`, and reports the end of it with `outputDrained()`) before the peer
   * counts as flooding: default 100, 0 for no limit
   */
  maxPendingAutoPongs?: number
  /** past maxPendingAutoPongs: fail the connection (1008, default) or answer no more pings until drained */
  dropExcessPongs?: boolean
  /** most frames one message may arrive in, empty ones included (default 65536, 0: no limit) */
  maxFragments?: number
  /** split outgoing messages larger than this into frames of this size, 0 for never (default 0) */
  fragmentSize?: number
  /** clock in ms, for round-trip times (default performance.now) */
  now?: () => number
  /** the permessage-deflate codec, when the extension was negotiated (RFC 7692) */
  deflate?: PerMessageDeflate | null
}

export type { PingCallback }
export type { SentCallback, SharedFrame }

const EMPTY = Buffer.alloc(0)
/** as ws 8.23 (which closes past 60): a peer that reads nothing cannot make us queue pongs for ever */
export const DEFAULT_MAX_PENDING_AUTO_PONGS = 100
const defaultNow = (): number => performance.now()

export class Connection implements FrameHandler, InflateSink, SendQueueOwner {
  readyState: ReadyState = OPEN
  readonly role: Role
  readonly writer: FrameWriter
  readonly parser: FrameParser
  /** close code and reason reported to the application: the peer's, or 1006 without a close frame */
  closeCode = CLOSE_ABNORMAL
  closeReason = ''
  closeFrameReceived = false
  closeFrameSent = false

  private readonly host: ConnectionHost
  private readonly maxPayload: number
  private readonly autoPong: boolean
  private readonly closeTimeout: number
  private readonly now: () => number
  private readonly utf8 = new Utf8Validator()
  private readonly assembler = new MessageAssembler()
  private closeDeadline = 0
  private readonly pings: PingTracker
  private readonly deflate: PerMessageDeflate | null
  /** sends in order, waiting behind a compression in progress (send-queue.ts) */
  private readonly queue: SendQueue
  /** a close frame waiting for the send queue to drain: nothing sent before close() is lost */
  private pendingClose: Buffer | null = null
  private endAfterClose = false
  private pendingAutoPongs = 0
  private readonly maxPendingAutoPongs: number
  private readonly dropExcessPongs: boolean
  /** the receiving half of permessage-deflate, when negotiated */
  private readonly inflater: MessageInflater | null

  constructor (host: ConnectionHost, options: ConnectionOptions) {
    this.host = host
    this.role = options.role
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    this.autoPong = options.autoPong ?? true
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT
    this.now = options.now ?? defaultNow
    this.deflate = options.deflate ?? null
    this.maxPendingAutoPongs = options.maxPendingAutoPongs ?? DEFAULT_MAX_PENDING_AUTO_PONGS
    this.dropExcessPongs = options.dropExcessPongs === true
    this.writer = new FrameWriter(this.role)
    this.queue = new SendQueue(this, this.writer, this.deflate, options.fragmentSize ?? 0)
    this.parser = new FrameParser(this, {
      role: this.role, maxPayload: this.maxPayload, allowRsv1: this.deflate !== null, maxFragments: options.maxFragments
    })
    this.inflater = this.deflate === null ? null : new MessageInflater(this.deflate, this.parser, this)
    const heartbeat = options.heartbeatInterval ?? 0
    this.pings = new PingTracker(heartbeat, options.pongTimeout ?? heartbeat, options.maxPendingPings ?? 16, this.now())
  }

  /** Bytes from the transport, in any split. */
  receive (chunk: Buffer): void {
    this.parser.push(chunk)
  }

  // ---- receiving (FrameHandler) ----

  onDataPiece (piece: Buffer, frameDone: boolean, messageDone: boolean): void {
    const parser = this.parser
    const isText = parser.messageOpcode === OPCODE_TEXT
    if (parser.compressed) return (this.inflater as MessageInflater).piece(piece, messageDone, isText)
    // Section 8.1: fail fast on the first invalid byte, even in the middle of a fragment.
    if (isText && !this.utf8.write(piece, 0, piece.length)) return this.fail('WS_ERR_INVALID_UTF8')
    if (messageDone) {
      if (isText && !this.utf8.end()) return this.fail('WS_ERR_INVALID_UTF8', 'message ends inside a sequence')
      let data = piece
      if (this.assembler.length !== 0) {
        this.assembler.append(piece, parser.messageLength, this.maxPayload)
        data = this.assembler.take()
      } else if (parser.transient) {
        data = Buffer.from(piece) // the one copy of a message read into the shared buffer
      }
      this.host.onMessage(data, !isText)
      return
    }
    // A piece of a message still arriving: keep a copy (the chunk it is a view of gets reused).
    if (piece.length !== 0) this.assembler.append(piece, parser.messageLength, this.maxPayload)
  }

  onControlFrame (opcode: number, payload: Buffer): void {
    if (opcode === OPCODE_PING) {
      // Section 5.5.2: answer with a pong carrying the same payload, unless we are closing.
      if (this.autoPong && !this.closeFrameSent) {
        if (!this.outputBacklogged || this.maxPendingAutoPongs === 0 || this.pendingAutoPongs < this.maxPendingAutoPongs) {
          if (this.outputBacklogged) this.pendingAutoPongs++
          this.queueControl(OPCODE_PONG, payload)
        } else if (!this.dropExcessPongs) {
          // a peer that pings and never reads the pongs would grow our output without bound
          return this.fail('WS_ERR_TOO_MANY_PINGS', `${this.pendingAutoPongs} pongs not yet written`)
        }
      }
      this.host.onPing(payload)
    } else if (opcode === OPCODE_PONG) {
      this.pings.pong(payload, this.now())
      this.host.onPong(payload)
    } else {
      this.receiveClose(payload)
    }
  }

  onParseError (err: WebSocketError): void {
    this.failWith(err)
  }

  /**
   * Whether the transport holds output the peer has not taken (set by the host after each write).
   * Only while it does do automatic pongs count as pending: a burst of pings from a peer that
   * reads is answered in full, a flood from one that does not is cut off.
   */
  outputBacklogged = false

  /** Bytes held for incoming data: a message being assembled or inflated, and bytes backlogged. */
  get heldIncoming (): number {
    return this.assembler.length + (this.inflater?.heldBytes ?? 0) + this.parser.backlogLength
  }

  /** The transport took everything queued so far: automatic pongs are no longer pending. */
  outputDrained (): void {
    this.outputBacklogged = false
    this.pendingAutoPongs = 0
  }

  // ---- inflated messages (InflateSink; inflation.ts does the batching) ----

  get inflateCancelled (): boolean { return this.readyState === CLOSED || this.parser.stopped }

  inflated (out: Buffer, isText: boolean): boolean {
    // Section 8.1: fail fast on the first invalid byte, as soon as it is inflated.
    if (isText && !this.utf8.write(out, 0, out.length)) {
      this.fail('WS_ERR_INVALID_UTF8')
      return false
    }
    this.assembler.append(out, this.assembler.length + out.length, this.maxPayload)
    return true
  }

  inflatedMessage (isText: boolean): void {
    if (isText && !this.utf8.end()) return this.fail('WS_ERR_INVALID_UTF8', 'message ends inside a sequence')
    this.host.onMessage(this.assembler.take(), !isText)
  }

  inflateFailed (err: Error): void {
    this.failWith(err instanceof WebSocketError ? err : wsError('WS_ERR_INFLATE', err.message))
  }

  inflateResumed (): void {
    this.host.onOutput()
  }

  private receiveClose (payload: Buffer): void {
    let code = CLOSE_NO_STATUS
    let reason = ''
    // Section 5.5.1: a close body, if any, starts with a 2-byte code; one byte alone is malformed.
    if (payload.length === 1) return this.fail('WS_ERR_INVALID_CLOSE_PAYLOAD')
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0)
      if (!isValidCloseCode(code)) return this.fail('WS_ERR_INVALID_CLOSE_CODE', String(code))
      const reasonBytes = payload.subarray(2)
      if (!isValidUtf8(reasonBytes)) return this.fail('WS_ERR_INVALID_UTF8', 'in the close reason')
      reason = reasonBytes.toString()
    }
    this.closeFrameReceived = true
    this.closeCode = code
    this.closeReason = reason
    // Section 5.5.1: nothing after a close frame is processed.
    this.parser.stop()
    this.assembler.clear()
    this.inflater?.drop()
    // Section 5.5.1: answer a close we did not start, echoing its code.
    if (!this.closeFrameSent) this.sendCloseFrame(code === CLOSE_NO_STATUS ? 0 : code, '')
    this.readyState = CLOSING
    // Section 7.1.1: the server closes the TCP connection first; the client's host waits for it.
    // A close frame still queued behind compressions ends the transport once it is written.
    if (this.pendingClose !== null) this.endAfterClose = true
    else this.host.onTransportEnd(false)
  }

  // ---- sending ----

  /**
   * Queue a data message; `cb` runs once its frames are queued for the transport (the host
   * collects it with `takeSentCallbacks()`). With permessage-deflate, messages of at least the
   * threshold are compressed unless `compress` is false, and later sends wait their turn.
   * Throws WS_ERR_NOT_OPEN once a close frame has been sent or received.
   */
  send (data: Uint8Array, isBinary: boolean, compress = true, cb: SentCallback | null = null): void {
    if (this.readyState !== OPEN) throw wsError('WS_ERR_NOT_OPEN')
    this.queue.send(data, isBinary, compress, cb)
  }

  /** Callbacks of the messages queued on the writer since the last call. */
  takeSentCallbacks (): SentCallback[] | null {
    return this.queue.takeSentCallbacks()
  }

  /** Queue a frame built elsewhere (a broadcast frame shared by many connections). */
  sendRaw (frame: Buffer): void {
    if (this.readyState !== OPEN) throw wsError('WS_ERR_NOT_OPEN')
    this.queue.raw(frame)
  }

  /**
   * Queue a broadcast frame that may still be compressing (`entry.frame` null): it holds its place,
   * so later sends wait behind it, and goes out once `sharedReady()` is called with it filled in.
   */
  sendShared (entry: SharedFrame): void {
    if (this.readyState !== OPEN) throw wsError('WS_ERR_NOT_OPEN')
    this.queue.shared(entry)
  }

  /** A shared frame this connection waits for is ready. */
  sharedReady (): void {
    if (this.readyState !== CLOSED) this.queue.sharedReady()
  }

  /** payload bytes waiting in the send queue (part of bufferedAmount) */
  get queuedBytes (): number { return this.queue.queuedBytes }

  /** split outgoing messages larger than this into frames of this size, 0 for never */
  get fragmentSize (): number { return this.queue.fragmentSize }
  set fragmentSize (size: number) { this.queue.fragmentSize = size }

  // ---- the send queue's reports (SendQueueOwner) ----

  queueOutput (): void { this.host.onOutput() }

  queueDrained (): void {
    if (this.pendingClose !== null) {
      const payload = this.pendingClose
      this.pendingClose = null
      this.writeCloseFrame(payload)
      if (this.endAfterClose) {
        this.endAfterClose = false
        this.host.onTransportEnd(false)
        return
      }
    }
    this.host.onOutput()
  }

  queueFailed (err: Error): void {
    this.failWith(err instanceof WebSocketError ? err : wsError('WS_ERR_DEFLATE', err.message, err))
  }

  get queueClosed (): boolean { return this.readyState === CLOSED }

  /** The permessage-deflate codec, when negotiated. */
  get deflateCodec (): PerMessageDeflate | null { return this.deflate }

  /**
   * Send a ping. With no payload a 4-byte sequence number is used so that the pong can be matched;
   * `cb` gets the round-trip time in ms when the matching pong arrives.
   */
  ping (data?: Uint8Array, cb?: PingCallback): void {
    if (this.readyState !== OPEN) throw wsError('WS_ERR_NOT_OPEN')
    if (data !== undefined && data.length > MAX_CONTROL_PAYLOAD) throw wsError('WS_ERR_CONTROL_ARG_TOO_LONG')
    this.queueControl(OPCODE_PING, this.pings.start(data, cb ?? null, this.now()))
  }

  /** Last measured round-trip time in ms (a ping answered by its pong), -1 before the first. */
  get latency (): number { return this.pings.latency }

  pong (data?: Uint8Array): void {
    if (this.readyState !== OPEN) throw wsError('WS_ERR_NOT_OPEN')
    const payload = data ?? EMPTY
    if (payload.length > MAX_CONTROL_PAYLOAD) throw wsError('WS_ERR_CONTROL_ARG_TOO_LONG')
    this.queueControl(OPCODE_PONG, payload)
  }

  /**
   * Start the closing handshake (section 7.1.2). `code` must be one allowed on the wire
   * (1000-1003, 1007-1014, 3000-4999) and the reason at most 123 bytes of UTF-8; both are checked
   * before anything changes, and an invalid pair throws WS_ERR_INVALID_CLOSE_ARG.
   */
  close (code?: number, reason?: string): void {
    const reasonBytes = reason === undefined || reason === '' ? EMPTY : Buffer.from(reason)
    if (code !== undefined && !isValidCloseCode(code)) throw wsError('WS_ERR_INVALID_CLOSE_ARG', `code ${code}`)
    if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) throw wsError('WS_ERR_INVALID_CLOSE_ARG', 'reason too long')
    if (code === undefined && reasonBytes.length !== 0) throw wsError('WS_ERR_INVALID_CLOSE_ARG', 'a reason needs a code')
    if (this.readyState !== OPEN) return
    this.sendCloseFrame(code ?? 0, reasonBytes)
    this.readyState = CLOSING
  }

  /** The transport is closed: settle everything still waiting on the peer. */
  transportClosed (): void {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSED
    this.parser.stop()
    this.assembler.clear()
    this.inflater?.drop()
    this.writer.discard()
    const cbs = this.takeSentCallbacks()
    // an Error (and its stack trace) only when a callback is there to be told: not on every close
    const closed = this.queue.waiting || cbs !== null || this.pings.waiting ? wsError('WS_ERR_CONNECTION_CLOSED') : null
    if (closed !== null) {
      this.queue.drop(closed)
      if (cbs !== null) for (const cb of cbs) cb(closed)
    }
    this.deflate?.close()
    this.closeDeadline = 0
    this.pings.clear(closed)
  }

  /** Called by the host's shared timer: fires whatever deadline has passed. */
  tick (now: number): void {
    if (this.readyState === CLOSED) return
    if (this.closeDeadline !== 0 && now >= this.closeDeadline) {
      this.closeDeadline = 0
      this.host.onError(wsError('WS_ERR_CLOSE_TIMEOUT'))
      this.host.onTransportEnd(true)
      return
    }
    if (this.pings.overdue(now)) {
      this.host.onError(wsError('WS_ERR_PING_TIMEOUT'))
      this.host.onTransportEnd(true)
      return
    }
    if (this.readyState === OPEN) {
      const payload = this.pings.heartbeatDue(now)
      if (payload !== null) this.queueControl(OPCODE_PING, payload)
    }
  }

  /** Fail the connection (section 7.1.7): close frame with the error's code, then end the transport. */
  fail (code: WebSocketErrorCode, detail?: string): void {
    this.failWith(wsError(code, detail))
  }

  failWith (err: WebSocketError): void {
    if (this.readyState === CLOSED) return
    this.parser.stop()
    this.assembler.clear()
    this.inflater?.drop()
    this.queue.drop(err)
    const closeCode = err.closeCode
    if (!this.closeFrameSent && closeCode !== undefined && isValidCloseCode(closeCode)) {
      this.sendCloseFrame(closeCode, EMPTY, false)
    } else if (this.pendingClose !== null) {
      const payload = this.pendingClose
      this.pendingClose = null
      this.writeCloseFrame(payload)
    }
    this.readyState = CLOSING
    this.host.onError(err)
    this.host.onTransportEnd(false)
  }

  private sendCloseFrame (code: number, reason: Uint8Array | string, flushFirst = true): void {
    let payload = EMPTY
    if (code !== 0) {
      const reasonBytes = typeof reason === 'string' ? Buffer.from(reason) : reason
      payload = Buffer.allocUnsafe(2 + reasonBytes.length)
      payload.writeUInt16BE(code, 0)
      payload.set(reasonBytes, 2)
    }
    this.closeFrameSent = true
    if (this.closeTimeout > 0) this.closeDeadline = this.now() + this.closeTimeout
    // messages still being compressed go out before the close frame (DESIGN.md section 5)
    if (flushFirst && this.queue.waiting) {
      this.pendingClose = payload
      return
    }
    this.writeCloseFrame(payload)
  }

  private writeCloseFrame (payload: Buffer): void {
    this.queueControl(OPCODE_CLOSE, payload)
  }

  private queueControl (opcode: number, payload: Uint8Array): void {
    this.writer.frame(opcode, true, false, payload)
    this.host.onOutput()
  }
}
