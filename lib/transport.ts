// Process-wide machinery shared by every socket, so that no closure or timer is made per
// connection: the net listeners (plain functions that find their WebSocket through a symbol on
// the stream), one flush queue drained once per tick, and one ticker for all deadlines.
import type { Duplex } from 'node:stream'
import { Socket } from 'node:net'
import { readArena } from './engine/mask'

export const kWebSocket = Symbol('fastify-rfc6455.websocket')

/** What the shared listeners call on the socket object that owns a stream. */
export interface TransportOwner {
  _onData (chunk: Buffer): void
  _onEnd (): void
  _onClose (): void
  _onError (err: Error): void
  _onDrain (): void
  _flush (): void
  _tick (now: number): void
}

type OwnedStream = Duplex & { [kWebSocket]?: TransportOwner }

function onData (this: OwnedStream, chunk: Buffer): void { this[kWebSocket]?._onData(chunk) }
function onEnd (this: OwnedStream): void { this[kWebSocket]?._onEnd() }
function onClose (this: OwnedStream): void { this[kWebSocket]?._onClose() }
function onError (this: OwnedStream, err: Error): void { this[kWebSocket]?._onError(err) }
function onDrain (this: OwnedStream): void { this[kWebSocket]?._onDrain() }

/**
 * Listen to `stream` on behalf of `owner`. Returns true when the stream now reads into the shared
 * buffer: the chunks `_onData` gets are then reused once it returns (see readIntoSharedBuffer).
 */
export function attach (stream: Duplex, owner: TransportOwner): boolean {
  const s = stream as OwnedStream
  s[kWebSocket] = owner
  const shared = readIntoSharedBuffer(s as ReadingStream)
  if (!shared) s.on('data', onData)
  s.on('end', onEnd)
  s.on('close', onClose)
  s.on('error', onError)
  s.on('drain', onDrain)
  if (shared) s.resume() // reads start (or go on) into the shared buffer
  return shared
}

export function detach (stream: Duplex): void {
  const s = stream as OwnedStream
  s.removeListener('data', onData)
  s.removeListener('end', onEnd)
  s.removeListener('drain', onDrain)
  // 'close' and 'error' stay: a late error on a dead stream must not become an uncaught exception
  s[kWebSocket] = undefined
}

// ---- reads into one buffer shared by every connection ----
//
// A stream read in Node allocates a 64 KiB buffer for read(2), copies what arrived into a new
// zero-filled ArrayBuffer and pushes that through the Readable machinery to 'data' listeners: per
// read, a malloc, a memset, a copy and a dozen JavaScript calls, for every 32-byte echo as for
// every 16 KiB one. net.Socket can instead read straight into a buffer its owner supplies (the
// documented `onread` option, Node 12+); http.Server offers no way to pass it for the sockets it
// accepts, so after the upgrade we set up what that option sets up: the handle's useUserBuffer()
// and the socket's kBuffer/kBufferCb fields that onStreamRead (lib/internal/stream_base_commons)
// consults. pause()/resume() keep working (net.Socket stops and starts the handle when kBuffer is
// set), as do 'end' and 'close'. Where anything of this is missing (another Node, TLS, an
// in-memory pair, bytes already buffered in the stream), the socket keeps its 'data' listener.

const SHARED_READ_BYTES = 64 * 1024
let sharedReadBuffer: Buffer | null = null

interface ReadSymbols { buffer: symbol, callback: symbol }
/** undefined until looked up; null where this Node has no user-buffer reads */
let readSymbols: ReadSymbols | null | undefined

type ReadingStream = OwnedStream & {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void, constructor: { name: string } } | null
  [key: symbol]: unknown
}

function findReadSymbols (stream: ReadingStream): ReadSymbols | null {
  let buffer: symbol | undefined
  let callback: symbol | undefined
  for (const sym of Object.getOwnPropertySymbols(stream)) {
    if (sym.description === 'kBuffer') buffer = sym
    else if (sym.description === 'kBufferCb') callback = sym
  }
  return buffer !== undefined && callback !== undefined ? { buffer, callback } : null
}

/** onStreamRead calls this as a method of the stream: `this` is the socket, no closure per connection. */
function onSharedRead (this: OwnedStream, nread: number, buf: Buffer): void {
  this[kWebSocket]?._onData(buf.subarray(0, nread))
}

function readIntoSharedBuffer (stream: ReadingStream): boolean {
  if (!(stream instanceof Socket) || stream.readableLength !== 0 || stream.destroyed) return false
  const handle = stream._handle
  // a TLS socket's handle is a TLSWrap: its plaintext comes through the stream, not the handle
  if (handle == null || handle.constructor.name !== 'TCP' || typeof handle.useUserBuffer !== 'function') return false
  if (readSymbols === undefined) readSymbols = findReadSymbols(stream)
  if (readSymbols === null || stream[readSymbols.buffer] !== null) return false
  // WebAssembly memory where available: the parser unmasks what arrives there in place
  sharedReadBuffer ??= readArena !== null ? readArena.bytes : Buffer.allocUnsafeSlow(SHARED_READ_BYTES)
  stream[readSymbols.buffer] = sharedReadBuffer
  stream[readSymbols.callback] = onSharedRead
  handle.useUserBuffer(sharedReadBuffer)
  return true
}

// ---- one flush per tick for sends made outside a receive ----

let flushQueue: TransportOwner[] = []
let flushScheduled = false

function flushAll (): void {
  flushScheduled = false
  const queue = flushQueue
  flushQueue = []
  for (let i = 0; i < queue.length; i++) queue[i]._flush()
}

export function scheduleFlush (owner: TransportOwner): void {
  flushQueue.push(owner)
  if (!flushScheduled) {
    flushScheduled = true
    process.nextTick(flushAll)
  }
}

// ---- one interval for every deadline (heartbeats, close timeouts) ----

export const TICK_MS = 100
const ticking = new Set<TransportOwner>()
let ticker: NodeJS.Timeout | null = null

function tickAll (): void {
  const now = performance.now()
  for (const owner of ticking) owner._tick(now)
}

export function startTicking (owner: TransportOwner): void {
  ticking.add(owner)
  if (ticker === null) {
    ticker = setInterval(tickAll, TICK_MS)
    ticker.unref()
  }
}

export function stopTicking (owner: TransportOwner): void {
  ticking.delete(owner)
  if (ticking.size === 0 && ticker !== null) {
    clearInterval(ticker)
    ticker = null
  }
}
