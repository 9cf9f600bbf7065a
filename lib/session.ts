// The machinery behind one public WebSocket (socket.ts): the stream, the engine Connection, the
// one owner of reading (reading.ts), flushing, sending under the backpressure policy and the
// memory budget. The WebSocket keeps only ws's surface and reaches this through `kSession`;
// the library's other modules reach it through `sessionOf(ws)`, never through members of the
// public object. One Session per connection, made with its socket: no closure per connection,
// the stream's listeners are shared (transport.ts) and find this object through a symbol.
// Delivery to handlers and listeners, and the hold queue in front of it, are in
// session/deliver.ts.
import type { Duplex } from 'node:stream'
import { Connection, type ConnectionHost, type ConnectionOptions, type SharedFrame } from './engine/connection'
import { OPEN, CLOSED, CLOSE_NO_STATUS } from './engine/constants'
import { wsError, type WebSocketError } from './errors'
import { attach, detach, scheduleFlush, startTicking, stopTicking, type TransportOwner } from './transport'
import { ReadGate, READ_HELD, READ_INFLATING, READ_OUTPUT } from './reading'
import { flush, applyBackpressurePolicy } from './session/flush'
import { transportClosed } from './session/closing'
import type { MemoryBudget, BudgetHolder } from './budget'
import type { BinaryType } from './event-target'
import { kSession } from './symbols'
import { deliver, control, release, HELD_MESSAGE, HELD_PING, HELD_PONG, HELD_ERROR } from './session/deliver'
import type { WebSocket, SocketContext, SocketStart, Logger, SendCallback } from './socket'
import { COUNTING, type CountedSocket } from './stats'
import * as dc from './diagnostics'
import { messageIn, messageOut } from './diagnostics'

/** bytes the parser may hold while a compressed message inflates, before the stream is paused */
const BACKLOG_PAUSE_BYTES = 1 << 20
/** messages held while an async open handler runs, before the stream is paused */
const HOLD_PAUSE_BYTES = 1 << 20
/** what one held event costs besides its payload (three array slots, the payload's Buffer object) */
const HELD_EVENT_BYTES = 64

/** The machinery of `socket`. */
export function sessionOf (socket: WebSocket): Session {
  return socket[kSession]
}

export class Session implements ConnectionHost, TransportOwner, BudgetHolder, CountedSocket {
  /** the public object this is the machinery of: handlers and listeners get it */
  readonly socket: WebSocket
  readonly conn: Connection
  readonly stream: Duplex
  readonly ctx: SocketContext
  /** the one owner of reading (reading.ts) */
  readonly reader: ReadGate
  /** ms (performance.now) when the socket opened */
  readonly openedAt: number
  /** topics subscribed to (pubsub/topics.ts keeps it), null before the first */
  topics: Set<string> | null = null
  binaryType: BinaryType = 'nodebuffer'
  url = ''
  /** events held until `release()`, in arrival order: kind, payload, isBinary per event */
  held: Array<number | Buffer | WebSocketError | boolean> | null = null
  heldBytes = 0
  /** the transport closed while events were held: 'close' follows them on release */
  closeHeld = false
  /** bytes last reported to the memory budget */
  budgetHeld = 0
  // the counters (stats.ts): plain fields, folded into the route's counters at close
  messagesIn = 0
  messagesOut = 0
  bytesIn = 0
  bytesOut = 0
  /** the close code we sent (1005: a close frame without one), 0 before */
  closeSent = 0
  /** who started the close, null while open */
  closedBy: 'local' | 'peer' | null = null
  private readonly parentLog: Logger | null
  private childLog: Logger | null = null
  /** a flush is scheduled for the end of this tick */
  flushQueued = false
  private receiving = false
  private ended = false
  private ticking = false
  private evicted = false

  constructor (socket: WebSocket, stream: Duplex, connection: ConnectionOptions, ctx: SocketContext, log: Logger | null, start?: SocketStart) {
    this.socket = socket
    this.stream = stream
    this.ctx = ctx
    this.parentLog = log
    this.conn = new Connection(this, connection)
    this.openedAt = performance.now()
    this.reader = new ReadGate(stream)
    if (start?.hold === true) this.held = []
    if (start?.url !== undefined) this.url = start.url
  }

  /**
   * Listen and start reading: called once the socket can reach this object, since the bytes that
   * came with the handshake are parsed here and may reach handlers at once.
   */
  open (heartbeat: boolean, start?: SocketStart): void {
    const stream = this.stream
    this.ctx.registry?.add(this.socket)
    if (this.ctx.stats != null) this.ctx.stats.open++
    // Nothing is read until the bytes that came with the handshake are parsed: they come first.
    const shared = attach(stream, this, start?.sharedReads ?? true)
    const head = start?.head
    if (head !== undefined && head.length !== 0) this._onData(head)
    // reads into the shared buffer leave chunks the parser must copy from, never keep
    this.conn.parser.transient = shared
    if (heartbeat) this.startTicking()
    this.reader.start()
  }

  /** a child of the request's logger bound to the socket's id */
  get log (): Logger {
    if (this.childLog === null) {
      const parent = this.parentLog ?? silentLogger
      this.childLog = parent.child?.({ ws: this.socket.id }) ?? parent
    }
    return this.childLog
  }

  /** bytes queued and not yet handed to the kernel */
  get bufferedAmount (): number {
    return this.conn.writer.pending + this.conn.queuedBytes + (this.stream.writableLength ?? 0)
  }

  // ---- sending ----

  /** Queue a prebuilt frame (broadcast); applies the backpressure policy. */
  sendFrame (frame: Buffer): boolean {
    if (this.conn.readyState !== OPEN) return false
    if (this.bufferedAmount > this.ctx.maxBackpressure && !this.overLimit(undefined)) return false
    this.conn.sendRaw(frame)
    this.sent(frame, true)
    return true
  }

  /** Queue a broadcast frame that may still be compressing; applies the backpressure policy. */
  sendShared (entry: SharedFrame): boolean {
    if (this.conn.readyState !== OPEN) return false
    if (this.bufferedAmount > this.ctx.maxBackpressure && !this.overLimit(undefined)) return false
    this.conn.sendShared(entry)
    this.sent(entry.frame, true)
    return true
  }

  /** A data message was queued: count it, and report it to the per-message channel's subscribers. */
  sent (data: Uint8Array | null, isBinary: boolean): void {
    this.messagesOut++
    if (messageOut.hasSubscribers && data !== null) messageOut.publish({ socket: this.socket, data, isBinary } satisfies dc.MessageMessage)
  }

  /** The slow-consumer policy: returns true if the send may go ahead anyway (never, for now). */
  overLimit (cb: SendCallback | undefined): boolean {
    return applyBackpressurePolicy(this, cb)
  }

  // ---- engine events (ConnectionHost) ----

  onMessage (data: Buffer, isBinary: boolean): void {
    this.messagesIn++
    if (messageIn.hasSubscribers) messageIn.publish({ socket: this.socket, data, isBinary } satisfies dc.MessageMessage)
    if (this.held !== null) this.holdEvent(HELD_MESSAGE, data, isBinary)
    else deliver(this, data, isBinary)
  }

  onPing (data: Buffer): void {
    if (this.held !== null) this.holdEvent(HELD_PING, data, false)
    else control(this, 'ping', this.ctx.handlers?.ping, data)
  }

  onPong (data: Buffer): void {
    if (this.held !== null) this.holdEvent(HELD_PONG, data, false)
    else control(this, 'pong', this.ctx.handlers?.pong, data)
  }

  /**
   * Queue an event while held. Every event counts toward the hold bound, control frames too: a
   * peer that floods pings (reading our pongs) during a slow async open must not grow the queue.
   */
  holdEvent (kind: number, data: Buffer, isBinary: boolean): void {
    (this.held as Array<number | Buffer | WebSocketError | boolean>).push(kind, data, isBinary)
    this.heldBytes += data.length + HELD_EVENT_BYTES
    if (this.heldBytes > HOLD_PAUSE_BYTES) this.reader.block(READ_HELD)
  }

  onOutput (): void {
    if (this.flushQueued || this.receiving) return
    this.flushQueued = true
    scheduleFlush(this)
  }

  onTransportEnd (destroy: boolean): void {
    this.noteClose('peer')
    if (destroy) {
      this.stream.destroy()
      return
    }
    this._flush()
    this.startTicking() // the close deadline also bounds how long the peer may take to close TCP
    const conn = this.conn
    // Section 7.1.1: the server closes TCP first; a client waits for the server's FIN once the
    // handshake is complete, but closes at once when it is failing the connection.
    if (conn.role === 'server' || !(conn.closeFrameReceived && conn.closeFrameSent)) this.end()
  }

  onError (err: WebSocketError): void {
    const socket = this.socket
    this.noteClose('local', err.closeCode)
    dc.publish<dc.ProtocolErrorMessage>(dc.protocolError, { socket, error: err, code: err.code, closeCode: err.closeCode })
    if (err.code === 'WS_ERR_PING_TIMEOUT') dc.publish<dc.HeartbeatTimeoutMessage>(dc.heartbeatTimeout, { socket, latency: this.conn.latency })
    this.ctx.onProtocolError(socket, err)
    if (this.held !== null) this.held.push(HELD_ERROR, err, false)
    else if (socket.listenerCount('error') > 0) socket.emit('error', err)
  }

  // ---- stream events (TransportOwner: shared listeners in transport.ts) ----

  _onData (chunk: Buffer): void {
    if (COUNTING) this.bytesIn += chunk.length
    this.receiving = true
    try {
      this.conn.receive(chunk)
    } finally {
      this.receiving = false
    }
    const parser = this.conn.parser
    if (parser.isPaused && parser.backlogLength > BACKLOG_PAUSE_BYTES) {
      // a peer must not grow the backlog without bound while a message inflates: stop reading TCP
      this.reader.block(READ_INFLATING)
    }
    this._flush()
    if (this.ctx.budget != null) this.account()
  }

  /** the peer closed its side */
  _onEnd (): void {
    this.noteClose('peer')
    this.end()
  }

  _onClose (): void {
    if (this.conn.readyState === CLOSED) return
    detach(this.stream)
    if (this.ticking) stopTicking(this)
    transportClosed(this)
  }

  /** transport errors (resets, EPIPE): the stream is torn down, 'close' reports 1006 */
  _onError (err: Error): void {
    this.log.debug({ err }, 'websocket transport error')
    this.stream.destroy()
  }

  _onDrain (): void {
    if (this.ctx.budget != null) this.account()
    this.conn.outputDrained()
    if (this.reader.has(READ_OUTPUT) && this.bufferedAmount <= this.ctx.maxBackpressure) this.reader.unblock(READ_OUTPUT)
    const h = this.ctx.handlers
    const socket = this.socket
    try {
      if (h?.drain !== undefined) h.drain(socket)
      socket.emit('drain')
    } catch (err) { this.ctx.onHandlerError(socket, err) }
  }

  /** write everything queued in one go (session/flush.ts) */
  _flush (): void {
    flush(this)
  }

  _tick (now: number): void {
    this.conn.tick(now)
  }

  // ---- the memory budget (budget.ts) ----

  /** Report what this socket holds: incoming data not yet delivered, output not yet written. */
  account (): void {
    const budget = this.ctx.budget as MemoryBudget
    if (this.conn.readyState === CLOSED) return
    budget.report(this, this.holding)
  }

  /** bytes held now: incoming data not yet delivered, output not yet written */
  get holding (): number {
    return this.conn.heldIncoming + this.heldBytes + this.bufferedAmount
  }

  /** The budget is exhausted and this socket holds the most. */
  budgetExceeded (held: number, max: number): void {
    if (this.evicted) {
      // already failed once and still the largest (its output is stuck behind a peer that does
      // not read): let it go now
      this.stream.destroy()
      return
    }
    this.evicted = true
    dc.publish<dc.MemoryLimitMessage>(dc.memoryLimit, { socket: this.socket, heldBytes: this.budgetHeld, totalBytes: held, maxBytes: max })
    this.log.warn({ held: this.budgetHeld, total: held, max }, 'websocket memory budget exhausted: closing the largest holder')
    this.conn.failWith(wsError('WS_ERR_MEMORY_BUDGET', `${held} bytes held in all, budget ${max}`))
  }

  // ---- holding messages while an async open handler runs (session/deliver.ts) ----

  /** Deliver the events held since the start (`hold: true`) in order, then read on. */
  release (): void {
    release(this)
  }

  // ---- the end ----

  /** Start the closing handshake (socket.close() checked nothing is wrong with it). */
  close (code?: number, reason?: string): void {
    const wasOpen = this.conn.readyState === OPEN
    this.conn.close(code, reason)
    if (wasOpen) this.noteClose('local', code ?? CLOSE_NO_STATUS)
    if (this.conn.closeFrameSent) this.startTicking()
  }

  /**
   * Note who started the close and the code of our close frame, the first time each is known:
   * `code` is what we would send for this cause, taken only if our close frame went out now.
   * A close frame we sent without a cause noted here is the engine's echo of the peer's.
   */
  noteClose (by: 'local' | 'peer', code?: number): void {
    const conn = this.conn
    if (this.closedBy === null) this.closedBy = by
    if (this.closeSent === 0 && conn.closeFrameSent) this.closeSent = code ?? (conn.closeFrameReceived ? conn.closeCode : CLOSE_NO_STATUS)
  }

  /** compression's savings so far, each way (0 without permessage-deflate) */
  get compressionSavedIn (): number {
    const codec = this.conn.deflateCodec
    return codec === null ? 0 : codec.inflateOut - codec.inflateIn
  }

  get compressionSavedOut (): number {
    const codec = this.conn.deflateCodec
    return codec === null ? 0 : codec.deflateIn - codec.deflateOut
  }

  private end (): void {
    if (this.ended) return
    this.ended = true
    this._flush()
    this.stream.end()
  }

  private startTicking (): void {
    if (this.ticking || this.conn.readyState === CLOSED) return
    this.ticking = true
    startTicking(this)
  }
}

const silentLogger: Logger = { debug () {}, info () {}, warn () {}, error () {} }

// The bench's switch (stats.ts, bench/observability-cost.js): the methods above count and check
// the per-message channels with no test of it; only when it is off are they replaced.
if (!COUNTING) {
  Session.prototype.onMessage = function (this: Session, data: Buffer, isBinary: boolean): void {
    if (this.held !== null) this.holdEvent(HELD_MESSAGE, data, isBinary)
    else deliver(this, data, isBinary)
  }
  Session.prototype.sent = function (): void {}
}
