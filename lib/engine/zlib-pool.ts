// The zlib streams permessage-deflate runs on (deflate.ts): each with the output of the operation
// running on it, and a pool of reset streams per configuration, which codecs that drop their
// context after each message (no context takeover, RFC 7692 section 7.1.1) share.
import * as zlib from 'node:zlib'
import { wsError } from '../errors'

/** Reset streams kept per configuration for codecs that drop their context after each message. */
const MAX_IDLE_PER_KEY = 8

/** A zlib stream and the output of the operation running on it. */
export interface ZlibWorker {
  readonly stream: zlib.DeflateRaw | zlib.InflateRaw
  /** pool key; streams with the same key are interchangeable once reset */
  readonly key: string
  chunks: Buffer[]
  size: number
  /** output bytes allowed for the running operation before it is stopped (inflate only) */
  limit: number
  /** completes the running operation; cleared once called */
  settle: ((err: Error | null) => void) | null
  /** errored, ended or destroyed: never reused */
  broken: boolean
}

const idleWorkers = new Map<string, ZlibWorker[]>()

function createWorker (key: string, stream: zlib.DeflateRaw | zlib.InflateRaw): ZlibWorker {
  const w: ZlibWorker = { stream, key, chunks: [], size: 0, limit: Infinity, settle: null, broken: false }
  stream.on('data', (chunk: Buffer) => {
    w.chunks.push(chunk)
    w.size += chunk.length
    if (w.size > w.limit) {
      // Stop inflating now: destroying the stream inside its 'data' event makes zlib's binding
      // drop the rest of the input instead of inflating it (a compression bomb stops here).
      w.broken = true
      w.chunks = []
      stream.destroy()
      finishWork(w, wsError('WS_ERR_MESSAGE_TOO_BIG', 'inflated message exceeds the size limit'))
    }
  })
  stream.on('error', (err: Error) => {
    w.broken = true
    finishWork(w, err)
  })
  // A peer may end its DEFLATE stream with a BFINAL block (RFC 7692 section 7.2.3.4); zlib then
  // ignores further input, so the stream must not be used again.
  stream.on('end', () => { w.broken = true })
  return w
}

export function finishWork (w: ZlibWorker, err: Error | null): void {
  const settle = w.settle
  w.settle = null
  if (settle !== null) settle(err)
}

export function deflateWindowBits (bits: number): number { return bits === 8 ? 9 : bits }

export function acquireDeflater (level: number, memLevel: number, windowBits: number): ZlibWorker {
  const key = `d${level}:${memLevel}:${windowBits}`
  const idle = idleWorkers.get(key)?.pop()
  if (idle !== undefined) return idle
  // Every write ends with Z_SYNC_FLUSH so a write's output is complete when its callback runs.
  return createWorker(key, zlib.createDeflateRaw({ level, memLevel, windowBits: deflateWindowBits(windowBits), flush: zlib.constants.Z_SYNC_FLUSH }))
}

export function acquireInflater (windowBits: number): ZlibWorker {
  const key = `i${windowBits}`
  const idle = idleWorkers.get(key)?.pop()
  if (idle !== undefined) return idle
  return createWorker(key, zlib.createInflateRaw({ windowBits, flush: zlib.constants.Z_SYNC_FLUSH }))
}

/** Give a stream whose operation has completed back to the pool, reset, or close it. */
export function releaseWorker (w: ZlibWorker): void {
  w.chunks = []
  w.size = 0
  w.limit = Infinity
  if (w.broken || w.stream.destroyed || w.stream.readableEnded) { discardWorker(w); return }
  let idle = idleWorkers.get(w.key)
  if (idle === undefined) idleWorkers.set(w.key, idle = [])
  if (idle.length >= MAX_IDLE_PER_KEY) { discardWorker(w); return }
  w.stream.reset()
  idle.push(w)
}

/** Close a stream for good. Safe while zlib still works on it: the handle closes afterwards. */
export function discardWorker (w: ZlibWorker): void {
  w.broken = true
  w.settle = null
  w.chunks = []
  if (!w.stream.destroyed) w.stream.destroy()
}

export function takeOutput (w: ZlibWorker): Buffer {
  const out = w.chunks.length === 1 ? w.chunks[0] : Buffer.concat(w.chunks, w.size)
  w.chunks = []
  w.size = 0
  return out
}
