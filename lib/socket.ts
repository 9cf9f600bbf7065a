// The public WebSocket object: an EventEmitter close to ws's WebSocket, over a Duplex stream
// (net.Socket, TLSSocket or an in-memory pair) and an engine Connection. Server and client
// sockets are the same class with a different role. This is ws's surface only: the machinery
// (stream, connection, reading, flushing, holding, budget) is a Session (session.ts) behind the
// one symbol-keyed field `kSession`, which the library's modules reach through `sessionOf()`.
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type { ConnectionOptions } from './engine/connection-options'
import { OPEN, CLOSED, CONNECTING, CLOSING, type ReadyState } from './engine/constants'
import { wsError, WebSocketError } from './errors'
import { READ_CONSUMER } from './reading'
import type { MemoryBudget } from './budget'
import {
  addEventListener, removeEventListener, getAttribute, setAttribute,
  type BinaryType, type EventListenerFn, type EventTargetType, type EventTargetEvents
} from './event-target'
import { kSession } from './symbols'
import { Session } from './session'
import { socketStats, type RouteCounters, type WebSocketSocketStats } from './stats'

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
  /** a route's message schemas (plugin/message-schema.ts): text in is decoded, values out encoded */
  codec?: MessageCodec | null
  /** the route's counters (stats.ts); none on client sockets */
  stats?: RouteCounters | null
  /** the route's URL pattern, for diagnostics_channel messages; none on client sockets */
  route?: string
}

/** Turns text messages into values and values into text, for routes with message schemas. */
export interface MessageCodec {
  /** a text message's value for handlers and listeners, or kRejected when it dealt with the message itself */
  decode (socket: WebSocket, data: Buffer): unknown
  /** a binary message, to the route's binary handler: `data` for the listeners, or kRejected */
  binary (socket: WebSocket, data: Buffer): unknown
  /** the text to send for a value that is neither a string nor binary data; throws when it cannot */
  encode (value: unknown): string
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

/** How a socket starts: what came with the handshake, and whether messages wait for `sessionOf(socket).release()`. */
export interface SocketStart {
  /** bytes read with the handshake, parsed before anything read later */
  head?: Buffer
  /** hold messages until `sessionOf(socket).release()` (until the caller's listeners are attached) */
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

export class WebSocket extends EventEmitter {
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
  /** @internal the machinery (session.ts): other modules use `sessionOf(socket)` */
  readonly [kSession]: Session

  constructor (stream: Duplex, connection: ConnectionOptions, ctx: SocketContext, protocol: string,
    extensions: string, log: Logger | null, start?: SocketStart) {
    super()
    this.id = (++nextId).toString(36)
    this.protocol = protocol
    this.extensions = extensions
    const session = new Session(this, stream, connection, ctx, log, start)
    this[kSession] = session
    // only now: the handshake's leftover bytes may reach handlers, which may call this socket
    session.open((connection.heartbeatInterval ?? 0) > 0, start)
  }

  get readyState (): ReadyState { return this[kSession].conn.readyState }
  get CONNECTING (): number { return CONNECTING }
  get OPEN (): number { return OPEN }
  get CLOSING (): number { return CLOSING }
  get CLOSED (): number { return CLOSED }

  /** bytes queued and not yet handed to the kernel */
  get bufferedAmount (): number { return this[kSession].bufferedAmount }

  /** round-trip time of the last answered ping, in ms (-1 before the first) */
  get latency (): number { return this[kSession].conn.latency }

  /** a child of the request's logger bound to this socket's id */
  get log (): Logger { return this[kSession].log }

  /** what this socket has counted: messages and bytes each way, compression's savings, bytes queued */
  get stats (): WebSocketSocketStats { return socketStats(this[kSession]) }

  /** Topics this socket is subscribed to. */
  get topics (): ReadonlySet<string> { return this[kSession].topics ?? EMPTY_SET }

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
    const session = this[kSession]
    // a route with message schemas sends other values as JSON (thrown errors: WS_ERR_SEND_SCHEMA)
    const codec = session.ctx.codec
    if (codec != null && typeof data !== 'string' && !isBinaryData(data)) data = codec.encode(data)
    const conn = session.conn
    if (conn.readyState !== OPEN) {
      if (cb !== undefined) process.nextTick(cb, wsError('WS_ERR_NOT_OPEN'))
      return false
    }
    const binary = options?.binary ?? typeof data !== 'string'
    const payload = toBuffer(data)
    if (session.bufferedAmount > session.ctx.maxBackpressure && !session.overLimit(cb)) return false
    conn.send(payload, binary, options?.compress ?? true, cb ?? null)
    session.sent(payload, binary)
    if (session.ctx.budget != null) session.account()
    return true
  }

  /** As ws: `ping()`, `ping(cb)`, `ping(data, mask, cb)`; the callback gets the round-trip time when the pong arrives. */
  ping (data?: WebSocketData | PingCallback, mask?: boolean | PingCallback, cb?: PingCallback): void {
    if (typeof data === 'function') {
      cb = data
      data = undefined
    } else if (typeof mask === 'function') cb = mask
    this[kSession].conn.ping(data === undefined ? undefined : toBuffer(data), cb ?? undefined)
  }

  pong (data?: WebSocketData): void {
    this[kSession].conn.pong(data === undefined ? undefined : toBuffer(data))
  }

  /** Start the closing handshake. Invalid codes (not 1000-1003, 1007-1014, 3000-4999) or reasons over 123 bytes throw. */
  close (code?: number, reason?: string | Buffer): void {
    this[kSession].close(code, Buffer.isBuffer(reason) ? reason.toString() : reason)
  }

  /** Destroy the connection now, without a closing handshake (reported as 1006). */
  terminate (): void {
    this[kSession].noteClose('local')
    this[kSession].stream.destroy()
  }

  /** Stop reading from the peer until `resume()` (as ws): TCP backpressure reaches the sender. */
  pause (): void {
    const session = this[kSession]
    const state = session.conn.readyState
    if (state === CONNECTING || state === CLOSED) return
    session.reader.block(READ_CONSUMER)
  }

  resume (): void {
    this[kSession].reader.unblock(READ_CONSUMER)
  }

  /** Whether `pause()` is in effect. */
  get isPaused (): boolean { return this[kSession].reader.has(READ_CONSUMER) }

  // ---- ws compatibility: binaryType, url, the EventTarget interface ----

  /**
   * How binary messages reach 'message' listeners (as ws): 'nodebuffer' (default) a Buffer,
   * 'arraybuffer' an ArrayBuffer, 'fragments' an array of Buffers. Route handlers' `message`
   * always gets a Buffer.
   */
  get binaryType (): BinaryType { return this[kSession].binaryType }
  set binaryType (value: BinaryType) {
    if (value !== 'nodebuffer' && value !== 'arraybuffer' && value !== 'fragments') return // ignored, as ws does
    this[kSession].binaryType = value
  }

  /** the request's URL (path and query) on the server; the URL connected to on the client */
  get url (): string { return this[kSession].url }

  /** @internal ws's name for the underlying stream: ws.createWebSocketStream(socket) reads it when its writable side ends */
  get _socket (): Duplex { return this[kSession].stream }

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
    return topicsOf(this).subscribe(this, topic)
  }

  unsubscribe (topic: string): boolean {
    return topicsOf(this).unsubscribe(this, topic)
  }

  /** Send to every subscriber of `topic` except this socket (framed once for all of them). */
  publish (topic: string, data: WebSocketData, options?: PublishOptions): void {
    topicsOf(this).publish(topic, toBuffer(data), options?.binary ?? typeof data !== 'string', this)
  }
}

function topicsOf (socket: WebSocket): TopicRegistry {
  const topics = socket[kSession].ctx.pubsub
  if (topics === undefined || topics === null) throw wsError('WS_ERR_NO_PUBSUB')
  return topics
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

function isBinaryData (data: unknown): boolean {
  return Buffer.isBuffer(data) || data instanceof ArrayBuffer || ArrayBuffer.isView(data)
}

export function toBuffer (data: WebSocketData): Buffer {
  if (typeof data === 'string') return Buffer.from(data)
  if (Buffer.isBuffer(data)) return data
  if (data instanceof ArrayBuffer) return Buffer.from(data)
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  throw new TypeError('WebSocket data must be a string, Buffer, ArrayBuffer or ArrayBufferView')
}

export { WebSocketError }
