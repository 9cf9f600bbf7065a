// Reads into one buffer shared by every connection: the only code that touches Node internals.
//
// A stream read in Node allocates a 64 KiB buffer for read(2), copies what arrived into a new
// zero-filled ArrayBuffer and pushes that through the Readable machinery to 'data' listeners: per
// read, a malloc, a memset, a copy and a dozen JavaScript calls, for every 32-byte echo as for
// every 16 KiB one. net.Socket can instead read straight into a buffer its owner supplies (the
// documented `onread` option, Node 12+); http.Server offers no way to pass it for the sockets it
// accepts, so after the upgrade we set up what that option sets up: the handle's useUserBuffer()
// and the socket's kBuffer/kBufferCb fields that onStreamRead (lib/internal/stream_base_commons)
// consults. pause()/resume() keep working (net.Socket stops and starts the handle when kBuffer is
// set), as do 'end' and 'close'.
//
// Where anything of this is missing (another Node, TLS, an in-memory pair, bytes already buffered
// in the stream), or the self-check below fails once, or it is turned off (the `sharedReads: false`
// option, or FASTIFY_RFC6455_SHARED_READS=0 in the environment), the socket keeps an ordinary
// 'data' listener. Both paths run the same tests.
import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { readArena } from './engine/mask'

/** Receives what the kernel read, as a view of the shared buffer valid only during the call. */
export interface SharedReadTarget {
  _onData (chunk: Buffer): void
}

const SHARED_READ_BYTES = 64 * 1024
let sharedReadBuffer: Buffer | null = null

interface ReadSymbols { buffer: symbol, callback: symbol }
/** undefined until looked up; null where this Node has no user-buffer reads or the check failed */
let readSymbols: ReadSymbols | null | undefined
/** off from the environment, for the fallback runs of the suite and for users who want it off */
let disabled = process.env.FASTIFY_RFC6455_SHARED_READS === '0'
/** why the path was turned off at run time, for diagnostics */
let disabledReason = disabled ? 'FASTIFY_RFC6455_SHARED_READS=0' : ''

const kTarget = Symbol('fastify-rfc6455.sharedReadTarget')

type ReadingStream = Duplex & {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void, constructor: { name: string } } | null
  [kTarget]?: SharedReadTarget
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
function onSharedRead (this: ReadingStream, nread: number, buf: Buffer): void {
  // Self-check: Node must hand back the buffer we gave it, as a Buffer. If a future Node does
  // otherwise, the bytes are still right for this read; later sockets take the 'data' path.
  if (!(buf instanceof Uint8Array) || buf.buffer !== (sharedReadBuffer as Buffer).buffer || nread > buf.length) {
    turnOff('the read callback did not get the shared buffer')
    if (!(buf instanceof Uint8Array)) return
  }
  this[kTarget]?._onData(Buffer.from(buf.buffer, buf.byteOffset, nread))
}

function turnOff (reason: string): void {
  if (disabled) return
  disabled = true
  disabledReason = reason
}

/** Whether new sockets may read into the shared buffer, and if not, why. */
export function sharedReadStatus (): { enabled: boolean, reason: string } {
  return { enabled: !disabled && readSymbols !== null, reason: disabled ? disabledReason : readSymbols === null ? 'this Node has no user-buffer reads' : '' }
}

/**
 * Make `stream` read into the shared buffer on behalf of `target`, without starting to read.
 * Returns false (nothing changed) where that is not possible: the caller listens for 'data'.
 */
export function readIntoSharedBuffer (stream: Duplex, target: SharedReadTarget): boolean {
  if (disabled || !(stream instanceof Socket) || stream.readableLength !== 0 || stream.destroyed) return false
  const s = stream as unknown as ReadingStream
  const handle = s._handle
  // a TLS socket's handle is a TLSWrap: its plaintext comes through the stream, not the handle
  if (handle == null || handle.constructor.name !== 'TCP' || typeof handle.useUserBuffer !== 'function') return false
  if (readSymbols === undefined) readSymbols = findReadSymbols(s)
  // kBuffer is null on a socket made without `onread`: anything else means Node changed
  if (readSymbols === null || s[readSymbols.buffer] !== null || s[readSymbols.callback] !== null) return false
  // WebAssembly memory where available: the parser unmasks what arrives there in place
  sharedReadBuffer ??= readArena !== null ? readArena.bytes : Buffer.allocUnsafeSlow(SHARED_READ_BYTES)
  s[kTarget] = target
  s[readSymbols.buffer] = sharedReadBuffer
  s[readSymbols.callback] = onSharedRead
  handle.useUserBuffer(sharedReadBuffer)
  return true
}

/** Stop delivering a stream's reads to its target (the stream is closing). */
export function releaseSharedRead (stream: Duplex): void {
  (stream as ReadingStream)[kTarget] = undefined
}
