// The public WebSocket object: an EventEmitter close to ws's WebSocket, over a Duplex stream
// (net.Socket, TLSSocket or an in-memory pair) and an engine Connection. Server and client
// sockets are the same class with a different role.
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { Connection, type ConnectionHost, type ConnectionOptions, type SharedFrame } from './engine/connection'
import { OPEN, CLOSED, CONNECTING, CLOSING, type ReadyState } from './engine/constants'
import { wsError, WebSocketError } from './errors'
import { attach, detach, scheduleFlush, startTicking, stopTicking, type TransportOwner } from './transport'
import { ReadGate, READ_HELD, READ_INFLATING, READ_CONSUMER, READ_OUTPUT } from './reading'
import type { MemoryBudget, BudgetHolder } from './budget'
import { addEventListener, removeEventListener, getAttribute, setAttribute, toBinaryType,
  type BinaryType, type EventListenerFn, type EventTargetType, type EventTargetEvents } from './event-target'

export type SendCallback = (err?: Error) => void
export type PingCallback = (err: Error | null, rtt?: number) => void
export type BackpressurePolicy = 'close' | 'drop'

export interface SendOptions {
  /** send as a binary frame; default: false for strings, true for buffers */
  binary?: boolean
  /** compress when permessage-deflate was negotiated (default true, subject to the threshold) */
  compress?: boolean
}

export type WebSocketData = string | Buffer | ArrayBuffer | ArrayBufferView

/** Per-route (or per-client) settings shared by every socket it opens: no per-connection copies. */
export interface SocketContext {
  handlers: SocketHandlers | null
  /** called with errors thrown by handlers and listeners; the default logs and closes 1011 */
  onHandlerError (socket: WebSocket, err: unknown): void
  /** called with protocol errors and timeouts (the connection is already failing) */
  onProtocolError (socket: WebSocket, err: WebSocketError): void
  maxBackpressure: number
  backpressurePolicy: BackpressurePolicy
  /** every open socket of the plugin, for shutdown and broadcast */
  registry: Set<WebSocket> | null
  /** the plugin's process-wide memory budget, if one is set (budget.ts) */
  budget?: MemoryBudget | null
  onClosed? (socket: WebSocket, code: number): void
  /** the plugin's topics, for subscribe/publish (null on client sockets) */
  pubsub?: TopicRegistry | null
}

export interface PublishOptions {
  /** send as binary; default: false for strings, true for buffers */
  binary?: boolean
}

/**
 * What a socket needs of the plugin's topics (pubsub/topics.ts implements it): the socket layer
 * sits below pub/sub and knows it only through this.
 */
export interface TopicRegistry {
  subscribe (socket: WebSocket, topic: string): boolean
  unsubscribe (socket: WebSocket, topic: string): boolean
  unsubscribeAll (socket: WebSocket): void
  publish (topic: string, data: Buffer, binary: boolean, except: WebSocket | null): void
}

export interface SocketHandlers {
  message? (socket: WebSocket, data: Buffer, isBinary: boolean): unknown
  close? (socket: WebSocket, code: number, reason: Buffer): unknown
  drain? (socket: WebSocket): unknown
  ping? (socket: WebSocket, data: Buffer): unknown
  pong? (socket: WebSocket, data: Buffer): unknown
}

/** How a socket starts: what came with the handshake, and whether messages wait for `_release()`. */
export interface SocketStart {
  /** bytes read with the handshake, parsed before anything read later */
  head?: Buffer
  /** hold messages until `_release()` (until the caller's listeners are attached) */
  hold?: boolean
  /** read plain TCP into the shared buffer (default true; see shared-read.ts) */
  sharedReads?: boolean
  /** the socket's `url`: the request's URL on the server, the URL connected to on the client */
  url?: string
}

export interface Logger {
  debug (obj: object, msg?: string): void
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
  child? (bindings: object): Logger
}

let nextId = 0
const EMPTY = Buffer.alloc(0)
/** messages held while an async open handler runs, before the stream is paused */
const HOLD_PAUSE_BYTES = 1 << 20
/** bytes the parser may hold while a compressed message inflates, before the stream is paused */
const BACKLOG_PAUSE_BYTES = 1 << 20

export class WebSocket extends EventEmitter implements ConnectionHost, TransportOwner, BudgetHolder {
  static readonly CONNECTING = CONNECTING
  static readonly OPEN = OPEN
  static readonly CLOSING = CLOSING
  static readonly CLOSED = CLOSED

  /** unique per process, for logs */
  readonly id: string
  /** the subprotocol selected in the handshake, '' if none */
  readonly protocol: string
  /** the Sec-WebSocket-Extensions value agreed in the handshake, '' if none */
  readonly extensions: string
  /** @internal */ readonly _conn: Connection
  /** @internal */ readonly _stream: Duplex
  /** @internal */ readonly _ctx: SocketContext
  /** @internal */ _topics: Set<string> | null = null
  /** @internal ms (performance.now) when the socket opened */
  readonly _openedAt: number
  private _log: Logger | null
  private _logChild: Logger | null = null
  private _flushQueued = false
  private _receiving = false
  /** events held until `_release()`, in arrival order: kind, payload, isBinary per event */
  private _held: Array<number | Buffer | WebSocketError | boolean> | null = null
  private _heldBytes = 0
  /** the transport closed while events were held: 'close' follows them on release */
  private _closeHeld = false
  private _ended = false
  private _ticking = false
  /** @internal the one owner of reading (reading.ts) */
  readonly _reader: ReadGate
  /** @internal bytes last reported to the memory budget */
  _budgetHeld = 0
  private _evicted = false
  private _binaryType: BinaryType = 'nodebuffer'
  private _url = ''

  constructor (stream: Duplex, connection: ConnectionOptions, ctx: SocketContext, protocol: string,
    extensions: string, log: Logger | null, start?: SocketStart) {
    super()
    this.id = (++nextId).toString(36)
    this.protocol = protocol
    this.extensions = extensions
    this._stream = stream
    this._ctx = ctx
    this._log = log
    this._conn = new Connection(this, connection)
    this._openedAt = performance.now()
    this._reader = new ReadGate(stream)
    if (start?.hold === true) this._held = []
    ctx.registry?.add(this)
    // Nothing is read until the bytes that came with the handshake are parsed: they come first.
    const shared = attach(stream, this, start?.sharedReads ?? true)
    stream.pause()
    const head = start?.head
    if (head !== undefined && head.length !== 0) this._onData(head)
    // reads into the shared buffer leave chunks the parser must copy from, never keep
    this._conn.parser.transient = shared
    if ((connection.heartbeatInterval ?? 0) > 0) this._startTicking()
    this._reader.start()
    if (start?.url !== undefined) this._url = start.url
  }

  get readyState (): ReadyState { return this._conn.readyState }
  get CONNECTING (): number { return CONNECTING }
  get OPEN (): number { return OPEN }
  get CLOSING (): number { return CLOSING }
  get CLOSED (): number { return CLOSED }

  /** bytes queued and not yet handed to the kernel */
  get bufferedAmount (): number {
    return this._conn.writer.pending + this._conn.queuedBytes + (this._stream.writableLength ?? 0)
  }

  /** round-trip time of the last answered ping, in ms (-1 before the first) */
  get latency (): number { return this._conn.latency }

  /** a child of the request's logger bound to this socket's id */
  get log (): Logger {
    if (this._logChild === null) {
      const parent = this._log ?? silentLogger
      this._logChild = parent.child?.({ ws: this.id }) ?? parent
    }
    return this._logChild
  }

  /** Topics this socket is subscribed to. */
  get topics (): ReadonlySet<string> { return this._topics ?? EMPTY_SET }

  // ---- sending ----

  /**
   * Send a message: a string as text, anything else as binary unless `options.binary` says
   * otherwise. A Buffer, ArrayBuffer or typed array is not copied: one over 4 KiB is read when it
   * is written (at the end of this event-loop turn or later), one to be compressed when it is
   * compressed, so it must not change until `cb` has run (ws behaves the same; a copy would cost
   * every large send).
   * Returns false when the socket is not open or the message was refused by the backpressure policy.
   */
  send (data: WebSocketData, options?: SendOptions | SendCallback, cb?: SendCallback): boolean {
    if (typeof options === 'function') {
      cb = options
      options = undefined
    }
    const conn = this._conn
    if (conn.readyState !== OPEN) {
      if (cb !== undefined) process.nextTick(cb, wsError('WS_ERR_NOT_OPEN'))
      return false
    }
    const binary = options?.binary ?? typeof data !== 'string'
    const payload = toBuffer(data)
    if (this.bufferedAmount > this._ctx.maxBackpressure && !this._overLimit(cb)) return false
    conn.send(payload, binary, options?.compress ?? true, cb ?? null)
    if (this._ctx.budget != null) this._account()
    return true
  }

  /** @internal Queue a prebuilt frame (broadcast); applies the backpressure policy. */
  _sendFrame (frame: Buffer): boolean {
    if (this._conn.readyState !== OPEN) return false
    if (this.bufferedAmount > this._ctx.maxBackpressure && !this._overLimit(undefined)) return false
    this._conn.sendRaw(frame)
    return true
  }

  /** @internal Queue a broadcast frame that may still be compressing; applies the backpressure policy. */
  _sendShared (entry: SharedFrame): boolean {
    if (this._conn.readyState !== OPEN) return false
    if (this.bufferedAmount > this._ctx.maxBackpressure && !this._overLimit(undefined)) return false
    this._conn.sendShared(entry)
    return true
  }

  /** The slow-consumer policy: returns true if the send may go ahead anyway (never, for now). */
  private _overLimit (cb: SendCallback | undefined): boolean {
    const err = wsError('WS_ERR_BACKPRESSURE', `${this.bufferedAmount} bytes buffered`)
    if (cb !== undefined) process.nextTick(cb, err)
    if (this._ctx.backpressurePolicy === 'close') this._conn.failWith(err)
    return false
  }

  /** As ws: `ping()`, `ping(cb)`, `ping(data, mask, cb)`; the callback gets the round-trip time when the pong arrives. */
  ping (data?: WebSocketData | PingCallback, mask?: boolean | PingCallback, cb?: PingCallback): void {
    if (typeof data === 'function') {
      cb = data
      data = undefined
    } else if (typeof mask === 'function') cb = mask
    this._conn.ping(data === undefined ? undefined : toBuffer(data), cb ?? undefined)
  }

  pong (data?: WebSocketData): void {
    this._conn.pong(data === undefined ? undefined : toBuffer(data))
  }

  /** Start the closing handshake. Invalid codes (not 1000-1003, 1007-1014, 3000-4999) or reasons over 123 bytes throw. */
  close (code?: number, reason?: string | Buffer): void {
    this._conn.close(code, Buffer.isBuffer(reason) ? reason.toString() : reason)
    if (this._conn.closeFrameSent) this._startTicking()
  }

  /** Destroy the connection now, without a closing handshake (reported as 1006). */
  terminate (): void {
    this._stream.destroy()
  }

  /** Stop reading from the peer until `resume()` (as ws): TCP backpressure reaches the sender. */
  pause (): void {
    if (this._conn.readyState === CONNECTING || this._conn.readyState === CLOSED) return
    this._reader.block(READ_CONSUMER)
  }

  resume (): void {
    this._reader.unblock(READ_CONSUMER)
  }

  /** Whether `pause()` is in effect. */
  get isPaused (): boolean { return this._reader.has(READ_CONSUMER) }

  // ---- ws compatibility: binaryType, url, the EventTarget interface ----

  /**
   * How binary messages reach 'message' listeners (as ws): 'nodebuffer' (default) a Buffer,
   * 'arraybuffer' an ArrayBuffer, 'fragments' an array of Buffers. Route handlers' `message`
   * always gets a Buffer.
   */
  get binaryType (): BinaryType { return this._binaryType }
  set binaryType (value: BinaryType) {
    if (value !== 'nodebuffer' && value !== 'arraybuffer' && value !== 'fragments') return // ignored, as ws does
    this._binaryType = value
  }

  /** the request's URL (path and query) on the server; the URL connected to on the client */
  get url (): string { return this._url }

  /** @internal ws's name for the underlying stream: ws.createWebSocketStream(socket) reads it when its writable side ends */
  get _socket (): Duplex { return this._stream }

  addEventListener<K extends EventTargetType> (type: K, listener: EventListenerFn<K>, options?: { once?: boolean }): void {
    addEventListener(this, type, listener as EventListenerFn<EventTargetType>, options)
  }

  removeEventListener<K extends EventTargetType> (type: K, listener: EventListenerFn<K>): void {
    removeEventListener(this, type, listener)
  }

  get onopen (): ((event: EventTargetEvents['open']) => void) | null { return getAttribute(this, 'open') as never }
  set onopen (fn: ((event: EventTargetEvents['open']) => void) | null) { setAttribute(this, 'open', fn) }
  get onmessage (): ((event: EventTargetEvents['message']) => void) | null { return getAttribute(this, 'message') as never }
  set onmessage (fn: ((event: EventTargetEvents['message']) => void) | null) { setAttribute(this, 'message', fn) }
  get onclose (): ((event: EventTargetEvents['close']) => void) | null { return getAttribute(this, 'close') as never }
  set onclose (fn: ((event: EventTargetEvents['close']) => void) | null) { setAttribute(this, 'close', fn) }
  get onerror (): ((event: EventTargetEvents['error']) => void) | null { return getAttribute(this, 'error') as never }
  set onerror (fn: ((event: EventTargetEvents['error']) => void) | null) { setAttribute(this, 'error', fn) }

  // ---- pub/sub ----

  /** Subscribe to `topic`; true if newly subscribed. Closing the socket unsubscribes it. */
  subscribe (topic: string): boolean {
    return this._topicsRegistry().subscribe(this, topic)
  }

  unsubscribe (topic: string): boolean {
    return this._topicsRegistry().unsubscribe(this, topic)
  }

  /** Send to every subscriber of `topic` except this socket (framed once for all of them). */
  publish (topic: string, data: WebSocketData, options?: PublishOptions): void {
    this._topicsRegistry().publish(topic, toBuffer(data), options?.binary ?? typeof data !== 'string', this)
  }

  private _topicsRegistry (): TopicRegistry {
    const topics = this._ctx.pubsub
    if (topics === undefined || topics === null) throw wsError('WS_ERR_NO_PUBSUB')
    return topics
  }

  // ---- engine events (ConnectionHost) ----

  /** @internal */
  onMessage (data: Buffer, isBinary: boolean): void {
    if (this._held !== null) {
      this._held.push(HELD_MESSAGE, data, isBinary)
      this._heldBytes += data.length
      if (this._heldBytes > HOLD_PAUSE_BYTES) this._reader.block(READ_HELD)
      return
    }
    this._deliver(data, isBinary)
  }

  /** @internal */
  onPing (data: Buffer): void {
    if (this._held !== null) this._held.push(HELD_PING, data, false)
    else this._control('ping', this._ctx.handlers?.ping, data)
  }

  /** @internal */
  onPong (data: Buffer): void {
    if (this._held !== null) this._held.push(HELD_PONG, data, false)
    else this._control('pong', this._ctx.handlers?.pong, data)
  }

  /** A control frame to the route's handler and the listeners; what they throw goes to the error handler. */
  private _control (event: 'ping' | 'pong', handler: SocketHandlers['ping'], data: Buffer): void {
    try {
      if (handler !== undefined) handler(this, data)
      this.emit(event, data)
    } catch (err) { this._ctx.onHandlerError(this, err) }
  }

  /** @internal */
  onOutput (): void {
    if (this._flushQueued || this._receiving) return
    this._flushQueued = true
    scheduleFlush(this)
  }

  /** @internal */
  onTransportEnd (destroy: boolean): void {
    if (destroy) {
      this._stream.destroy()
      return
    }
    this._flush()
    this._startTicking() // the close deadline also bounds how long the peer may take to close TCP
    const conn = this._conn
    // Section 7.1.1: the server closes TCP first; a client waits for the server's FIN once the
    // handshake is complete, but closes at once when it is failing the connection.
    if (conn.role === 'server' || !(conn.closeFrameReceived && conn.closeFrameSent)) this._end()
  }

  /** @internal */
  onError (err: WebSocketError): void {
    this._ctx.onProtocolError(this, err)
    if (this._held !== null) this._held.push(HELD_ERROR, err, false)
    else if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  // ---- stream events (shared listeners in transport.ts) ----

  /** @internal */
  _onData (chunk: Buffer): void {
    this._receiving = true
    try {
      this._conn.receive(chunk)
    } finally {
      this._receiving = false
    }
    const parser = this._conn.parser
    if (parser.isPaused && parser.backlogLength > BACKLOG_PAUSE_BYTES) {
      // a peer must not grow the backlog without bound while a message inflates: stop reading TCP
      this._reader.block(READ_INFLATING)
    }
    this._flush()
    if (this._ctx.budget != null) this._account()
  }

  /** @internal the peer closed its side */
  _onEnd (): void {
    this._end()
  }

  /** @internal */
  _onClose (): void {
    const conn = this._conn
    if (conn.readyState === CLOSED) return
    conn.transportClosed()
    detach(this._stream)
    if (this._ticking) stopTicking(this)
    this._ctx.budget?.remove(this)
    this._ctx.registry?.delete(this)
    this._ctx.pubsub?.unsubscribeAll(this)
    this._ctx.onClosed?.(this, conn.closeCode)
    // what arrived before the close is delivered before it
    if (this._held !== null) this._closeHeld = true
    else this._emitClose()
  }

  private _emitClose (): void {
    const conn = this._conn
    const reason = conn.closeReason === '' ? EMPTY : Buffer.from(conn.closeReason)
    const h = this._ctx.handlers
    try {
      if (h?.close !== undefined) h.close(this, conn.closeCode, reason)
      this.emit('close', conn.closeCode, reason)
    } catch (err) { this._ctx.onHandlerError(this, err) }
  }

  /** @internal transport errors (resets, EPIPE): the stream is torn down, 'close' reports 1006 */
  _onError (err: Error): void {
    this.log.debug({ err }, 'websocket transport error')
    this._stream.destroy()
  }

  /** @internal */
  _onDrain (): void {
    if (this._ctx.budget != null) this._account()
    this._conn.outputDrained()
    if (this._reader.has(READ_OUTPUT) && this.bufferedAmount <= this._ctx.maxBackpressure) this._reader.unblock(READ_OUTPUT)
    const h = this._ctx.handlers
    try {
      if (h?.drain !== undefined) h.drain(this)
      this.emit('drain')
    } catch (err) { this._ctx.onHandlerError(this, err) }
  }

  /** @internal write everything queued in one go */
  _flush (): void {
    this._flushQueued = false
    const reader = this._reader
    if (reader.has(READ_INFLATING) && !this._conn.parser.isPaused) reader.unblock(READ_INFLATING)
    if (reader.has(READ_OUTPUT) && this._conn.readyState !== OPEN) reader.unblock(READ_OUTPUT)
    const chunks = this._conn.writer.take()
    if (chunks === null) return
    const stream = this._stream
    const cbs = this._conn.takeSentCallbacks()
    if (stream.destroyed || !stream.writable) {
      if (cbs !== null) runCallbacks(cbs, wsError('WS_ERR_CONNECTION_CLOSED'))
      return
    }
    const done = cbs === null ? undefined : (err?: Error | null) => runCallbacks(cbs, err ?? undefined)
    const n = chunks.length
    if (n === 1) {
      stream.write(chunks[0], done)
    } else {
      stream.cork()
      for (let i = 0; i < n - 1; i++) stream.write(chunks[i])
      stream.write(chunks[n - 1], done)
      stream.uncork()
    }
    // Control frames count toward the output bound: a peer that sends pings (or anything we
    // answer) and never reads what we write stops being read until it does ('drain').
    if (stream.writableLength === 0) {
      this._conn.outputDrained()
    } else {
      this._conn.outputBacklogged = true
      if (this.bufferedAmount > this._ctx.maxBackpressure && this._conn.readyState === OPEN) reader.block(READ_OUTPUT)
    }
    if (this._ctx.budget != null) this._account()
  }

  /** @internal */
  _tick (now: number): void {
    this._conn.tick(now)
  }

  // ---- the memory budget (budget.ts) ----

  /** Report what this socket holds: incoming data not yet delivered, output not yet written. */
  private _account (): void {
    const budget = this._ctx.budget as MemoryBudget
    if (this._conn.readyState === CLOSED) return
    budget.report(this, this._holding)
  }

  /** @internal bytes held now: incoming data not yet delivered, output not yet written */
  get _holding (): number {
    return this._conn.heldIncoming + this._heldBytes + this.bufferedAmount
  }

  /** @internal The budget is exhausted and this socket holds the most. */
  _budgetExceeded (held: number, max: number): void {
    if (this._evicted) {
      // already failed once and still the largest (its output is stuck behind a peer that does
      // not read): let it go now
      this._stream.destroy()
      return
    }
    this._evicted = true
    this.log.warn({ held: this._budgetHeld, total: held, max }, 'websocket memory budget exhausted: closing the largest holder')
    this._conn.failWith(wsError('WS_ERR_MEMORY_BUDGET', `${held} bytes held in all, budget ${max}`))
  }

  // ---- message delivery ----

  /** @internal Hold incoming messages until `release` (while an async open handler runs). */
  _hold (): void {
    if (this._held === null) this._held = []
  }

  /** @internal Deliver held messages in order. */
  _release (): void {
    const held = this._held
    if (held === null) return
    this._held = null
    this._heldBytes = 0
    for (let i = 0; i < held.length; i += 3) {
      const kind = held[i]
      if (kind === HELD_MESSAGE) this._deliver(held[i + 1] as Buffer, held[i + 2] as boolean)
      else if (kind === HELD_PING) this._control('ping', this._ctx.handlers?.ping, held[i + 1] as Buffer)
      else if (kind === HELD_PONG) this._control('pong', this._ctx.handlers?.pong, held[i + 1] as Buffer)
      else if (this.listenerCount('error') > 0) this.emit('error', held[i + 1])
    }
    if (this._closeHeld) {
      this._closeHeld = false
      this._emitClose()
      return
    }
    this._reader.unblock(READ_HELD)
  }

  private _deliver (data: Buffer, isBinary: boolean): void {
    const h = this._ctx.handlers
    try {
      if (h?.message !== undefined) {
        const result = h.message(this, data, isBinary)
        if (isPromise(result)) result.then(undefined, (err: unknown) => this._ctx.onHandlerError(this, err))
      }
      this.emit('message', isBinary && this._binaryType !== 'nodebuffer' ? toBinaryType(data, this._binaryType) : data, isBinary)
    } catch (err) {
      this._ctx.onHandlerError(this, err)
    }
  }

  private _end (): void {
    if (this._ended) return
    this._ended = true
    this._flush()
    this._stream.end()
  }

  private _startTicking (): void {
    if (this._ticking || this._conn.readyState === CLOSED) return
    this._ticking = true
    startTicking(this)
  }

}

/** The socket's events and their listeners' parameters (as ws's). */
export interface WebSocketEventListeners {
  /** a binary message's data follows `binaryType` (a Buffer by default); text arrives as a Buffer of UTF-8 */
  message: (data: Buffer, isBinary: boolean) => void
  close: (code: number, reason: Buffer) => void
  error: (err: Error) => void
  ping: (data: Buffer) => void
  pong: (data: Buffer) => void
  drain: () => void
  open: () => void
}

type Events = WebSocketEventListeners
// any listener function fits (never[]: its parameters are not checked), as with EventEmitter
type AnyListener = (...args: never[]) => void

// typed events: declaration merging with the class above (ws's overloads, one per method)
export interface WebSocket {
  on<E extends keyof Events> (event: E, listener: Events[E]): this
  on (event: string | symbol, listener: AnyListener): this
  once<E extends keyof Events> (event: E, listener: Events[E]): this
  once (event: string | symbol, listener: AnyListener): this
  off<E extends keyof Events> (event: E, listener: Events[E]): this
  off (event: string | symbol, listener: AnyListener): this
  addListener<E extends keyof Events> (event: E, listener: Events[E]): this
  addListener (event: string | symbol, listener: AnyListener): this
  removeListener<E extends keyof Events> (event: E, listener: Events[E]): this
  removeListener (event: string | symbol, listener: AnyListener): this
  prependListener<E extends keyof Events> (event: E, listener: Events[E]): this
  prependListener (event: string | symbol, listener: AnyListener): this
  prependOnceListener<E extends keyof Events> (event: E, listener: Events[E]): this
  prependOnceListener (event: string | symbol, listener: AnyListener): this
}

const EMPTY_SET: ReadonlySet<string> = new Set()
const HELD_MESSAGE = 0
const HELD_PING = 1
const HELD_PONG = 2
const HELD_ERROR = 3

const silentLogger: Logger = { debug () {}, info () {}, warn () {}, error () {} }

function runCallbacks (cbs: SendCallback[], err: Error | undefined): void {
  for (let i = 0; i < cbs.length; i++) cbs[i](err)
}

function isPromise (value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Promise<unknown>).then === 'function'
}

export function toBuffer (data: WebSocketData): Buffer {
  if (typeof data === 'string') return Buffer.from(data)
  if (Buffer.isBuffer(data)) return data
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  throw new TypeError('WebSocket data must be a string, Buffer, ArrayBuffer or ArrayBufferView')
}

export { WebSocketError }
