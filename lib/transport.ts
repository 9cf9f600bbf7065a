// Process-wide machinery shared by every socket, so that no closure or timer is made per
// connection: the net listeners (plain functions that find their owner, a socket's Session,
// through a symbol on the stream), one flush queue drained once per tick, and one ticker for all
// deadlines.
import type { Duplex } from 'node:stream'
import { readIntoSharedBuffer, releaseSharedRead } from './shared-read'
import { kStreamOwner } from './symbols'

/** What the shared listeners call on the object that owns a stream (session.ts). */
export interface TransportOwner {
  _onData (chunk: Buffer): void
  _onEnd (): void
  _onClose (): void
  _onError (err: Error): void
  _onDrain (): void
  _flush (): void
  _tick (now: number): void
}

type OwnedStream = Duplex & { [kStreamOwner]?: TransportOwner }

function onData (this: OwnedStream, chunk: Buffer): void { this[kStreamOwner]?._onData(chunk) }
function onEnd (this: OwnedStream): void { this[kStreamOwner]?._onEnd() }
function onClose (this: OwnedStream): void { this[kStreamOwner]?._onClose() }
function onError (this: OwnedStream, err: Error): void { this[kStreamOwner]?._onError(err) }
function onDrain (this: OwnedStream): void { this[kStreamOwner]?._onDrain() }

/**
 * Listen to `stream` on behalf of `owner`, without starting to read: whoever owns reading (see
 * reading.ts) resumes the stream. Returns true when the stream reads into the shared buffer: the
 * chunks `_onData` gets are then reused once it returns (see shared-read.ts).
 */
export function attach (stream: Duplex, owner: TransportOwner, sharedReads = true): boolean {
  const s = stream as OwnedStream
  s[kStreamOwner] = owner
  const shared = sharedReads && readIntoSharedBuffer(s, owner)
  // still until the owner of reading resumes it (a 'data' listener alone would start the flow).
  // A shared-buffer stream is left as it is: nothing returns to the event loop before the owner
  // starts it (ReadGate.start() pauses it then if a reason arose), and stopping its handle here
  // for start() to restart it costs an epoll change, a syscall, per connection.
  if (!shared) s.pause()
  if (!shared) s.on('data', onData)
  s.on('end', onEnd)
  s.on('close', onClose)
  s.on('error', onError)
  s.on('drain', onDrain)
  return shared
}

export function detach (stream: Duplex): void {
  const s = stream as OwnedStream
  s.removeListener('data', onData)
  s.removeListener('end', onEnd)
  s.removeListener('drain', onDrain)
  releaseSharedRead(s)
  // 'close' and 'error' stay: a late error on a dead stream must not become an uncaught exception
  s[kStreamOwner] = undefined
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
