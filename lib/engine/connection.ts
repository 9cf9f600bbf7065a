// One WebSocket connection at the protocol level, with no I/O: bytes in through `receive()`,
// messages and control events out through a host object, frames out through `writer`. Timers
// are the host's too: it calls `tick(now)` from one shared interval for all connections, and the
// connection decides whether a heartbeat ping, a pong deadline or a close deadline is due.
import { wsError, WebSocketError, type WebSocketErrorCode } from '../errors'
import {
  OPEN, CLOSING, CLOSED, OPCODE_CLOSE, OPCODE_PING,
  OPCODE_PONG, CLOSE_NO_STATUS, CLOSE_ABNORMAL, MAX_CONTROL_PAYLOAD, MAX_CLOSE_REASON_BYTES,
  DEFAULT_MAX_PAYLOAD, DEFAULT_CLOSE_TIMEOUT, type Role, type ReadyState
} from './constants'
import { FrameParser, type FrameHandler } from './parser'
import { FrameWriter } from './serializer'
import { isValidUtf8 } from './utf8'
import { isValidCloseCode, closePayload } from './close-codes'
import { PingTracker, AutoPongBudget, type PingCallback } from './pings'
import type { PerMessageDeflate } from './deflate'
import { MessageReceiver, type ReceiverOwner } from './receiver'
import { SendQueue, type SendQueueOwner, type SentCallback, type SharedFrame } from './send-queue'
import { DEFAULT_MAX_PENDING_AUTO_PONGS, type ConnectionHost, type ConnectionOptions } from './connection-options'

export type { ConnectionHost, ConnectionOptions, PingCallback, SentCallback, SharedFrame }
export { DEFAULT_MAX_PENDING_AUTO_PONGS }

const EMPTY = Buffer.alloc(0)
const defaultNow = (): number => performance.now()

export class Connection implements FrameHandler, ReceiverOwner, SendQueueOwner {
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
  /** data messages: UTF-8, assembly, inflation (receiver.ts) */
  private readonly receiver: MessageReceiver
  private closeDeadline = 0
  private readonly pings: PingTracker
  private readonly deflate: PerMessageDeflate | null
  /** sends in order, waiting behind a compression in progress (send-queue.ts) */
  private readonly queue: SendQueue
  /** a close frame waiting for the send queue to drain: nothing sent before close() is lost */
  private pendingClose: Buffer | null = null
  private endAfterClose = false
  /** automatic pongs owed while output is backed up, bounded (pings.ts) */
  private readonly autoPongs: AutoPongBudget
  private readonly dropExcessPongs: boolean

  constructor (host: ConnectionHost, options: ConnectionOptions) {
    this.host = host
    this.role = options.role
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    this.autoPong = options.autoPong ?? true
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT
    this.now = options.now ?? defaultNow
    this.deflate = options.deflate ?? null
    this.autoPongs = new AutoPongBudget(options.maxPendingAutoPongs ?? DEFAULT_MAX_PENDING_AUTO_PONGS)
    this.dropExcessPongs = options.dropExcessPongs === true
    this.writer = new FrameWriter(this.role)
    this.queue = new SendQueue(this, this.writer, this.deflate, options.fragmentSize ?? 0)
    this.parser = new FrameParser(this, {
      role: this.role, maxPayload: this.maxPayload, allowRsv1: this.deflate !== null, maxFragments: options.maxFragments
    })
    this.receiver = new MessageReceiver(this, this.parser, this.maxPayload, this.deflate)
    const heartbeat = options.heartbeatInterval ?? 0
    this.pings = new PingTracker(heartbeat, options.pongTimeout ?? heartbeat, options.maxPendingPings ?? 16, this.now())
  }

  /** Bytes from the transport, in any split. */
  receive (chunk: Buffer): void {
    this.parser.push(chunk)
  }

  // ---- receiving (FrameHandler) ----

  onDataPiece (piece: Buffer, _frameDone: boolean, messageDone: boolean): void {
    this.receiver.piece(piece, messageDone)
  }

  onControlFrame (opcode: number, payload: Buffer): void {
    if (opcode === OPCODE_PING) {
      // Section 5.5.2: answer with a pong carrying the same payload, unless we are closing.
      if (this.autoPong && !this.closeFrameSent) {
        if (this.autoPongs.take()) {
          this.queueControl(OPCODE_PONG, payload)
        } else if (!this.dropExcessPongs) {
          // a peer that pings and never reads the pongs would grow our output without bound
          return this.fail('WS_ERR_TOO_MANY_PINGS', `${this.autoPongs.pending} pongs not yet written`)
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

  /** Whether the transport holds output the peer has not taken (set by the host after each write). */
  get outputBacklogged (): boolean { return this.autoPongs.backlogged }
  set outputBacklogged (backlogged: boolean) { this.autoPongs.backlogged = backlogged }

  /** Bytes held for incoming data: a message being assembled or inflated, and bytes backlogged. */
  get heldIncoming (): number {
    return this.receiver.heldBytes + this.parser.backlogLength
  }

  /** The transport took everything queued so far: automatic pongs are no longer pending. */
  outputDrained (): void {
    this.autoPongs.drained()
  }

  // ---- the receiver's reports (ReceiverOwner) ----

  deliver (data: Buffer, isBinary: boolean): void {
    this.host.onMessage(data, isBinary)
  }

  get receiveCancelled (): boolean { return this.readyState === CLOSED || this.parser.stopped }

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
    this.receiver.clear()
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
    this.receiver.clear()
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
    this.receiver.clear()
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
    const payload = closePayload(code, reason)
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
