// permessage-deflate codec (RFC 7692 section 7.2): raw DEFLATE per message over node:zlib,
// with context takeover as negotiated, inflated-size limits enforced while inflating, and all
// zlib work throttled process-wide (see zlib-limiter.ts). Frames and RSV1 are the caller's job:
// compress a message's payload (in one piece or fragment by fragment) and set RSV1 on its first
// frame only (RFC 7692 section 6.1); inflate the payloads of a message whose first frame had it.
//
// Window bits: zlib cannot deflate with an 8-bit window, so 8 is used as 9 for compression.
// That still honours a negotiated limit of 8: zlib never emits a distance above the window size
// minus 262 (MIN_LOOKAHEAD), i.e. at most 250 with 9 bits, which a 256-byte window decodes.
import { wsError } from '../errors'
import { COMPRESSOR_IDLE_MS, resolveDeflateOptions, type DeflateOptions, type NegotiatedDeflate, type ResolvedDeflateOptions } from './deflate-options'
import type { Role } from './constants'
import { ZlibLane, sharedZlibLimiter } from './zlib-limiter'
import { acquireDeflater, acquireInflater, releaseWorker, discardWorker, finishWork, takeOutput, type ZlibWorker } from './zlib-pool'

export type DeflateCallback = (err: Error | null, out?: Buffer) => void

/** RFC 7692 section 7.2.1: the empty stored block a sync flush ends with, removed from the wire. */
const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])
/** RFC 7692 section 7.2.3.6: the payload of an empty compressed message. */
const EMPTY_MESSAGE = Buffer.from([0x00])
const EMPTY: Buffer = Buffer.alloc(0)
interface Job { data: Buffer, fin: boolean, cb: DeflateCallback }

function endsWithSyncTail (buf: Buffer): boolean {
  const n = buf.length
  return n >= 4 && buf[n - 4] === 0x00 && buf[n - 3] === 0x00 && buf[n - 2] === 0xff && buf[n - 1] === 0xff
}

/**
 * Codecs holding a borrowed compressor (`compressor: 'borrowed'`). One timer for the process,
 * running only while some are held, gives back each one that sent nothing for a whole period,
 * so an idle socket costs no zlib memory and a busy one keeps its context (its ratio).
 */
const borrowers = new Set<PerMessageDeflate>()
let sweepTimer: ReturnType<typeof setInterval> | null = null

function sweepBorrowers (): void {
  for (const codec of borrowers) if (codec.returnIdleCompressor()) borrowers.delete(codec)
  if (borrowers.size === 0 && sweepTimer !== null) { clearInterval(sweepTimer); sweepTimer = null }
}

function trackBorrower (codec: PerMessageDeflate): void {
  borrowers.add(codec)
  if (sweepTimer === null) {
    sweepTimer = setInterval(sweepBorrowers, COMPRESSOR_IDLE_MS)
    // the sweep never keeps a process alive
    sweepTimer.unref()
  }
}

/** Compressors currently borrowed by sockets (for tests and gauges). */
export function borrowedCompressors (): number { return borrowers.size }

/**
 * One connection's permessage-deflate state. Compressing and inflating are independent, and
 * each runs its jobs one at a time in the order given, so callbacks of one direction come in
 * submission order. Callbacks are never called synchronously from compress/decompress.
 */
export class PerMessageDeflate {
  /** messages shorter than this are better sent uncompressed (the caller decides) */
  readonly threshold: number
  readonly params: NegotiatedDeflate
  /** the options this codec was made with, for {@link deflateOnce} */
  readonly userOptions: DeflateOptions | true
  /** connections with the same key can share one precompressed message; null when this one cannot */
  readonly shareKey: string | null
  private readonly options: ResolvedDeflateOptions
  /** inflated bytes allowed per message (0: no limit) */
  private readonly maxInflated: number
  private readonly ownNoContextTakeover: boolean
  private readonly peerNoContextTakeover: boolean
  private readonly ownWindowBits: number
  private readonly peerWindowBits: number
  private deflater: ZlibWorker | null = null
  private inflater: ZlibWorker | null = null
  private readonly deflateLane: ZlibLane<Job>
  private readonly inflateLane: ZlibLane<Job>
  /** a fragment's sync-flush tail, held back until we know whether it ends the message */
  private heldTail = false
  private deflatedSoFar = 0
  /** `compressor: 'borrowed'` with context takeover: the deflate stream goes back to the pool when idle */
  private readonly borrows: boolean
  /** a message was compressed since the last sweep */
  private deflatedRecently = false
  private inflatedSoFar = 0
  private compressedSoFar = 0
  private closed = false
  /** totals since the start, for the counters (lib/stats.ts): bytes given to compress and the payload they became */
  deflateIn = 0
  deflateOut = 0
  /** totals since the start: compressed payload bytes received and what they inflated to */
  inflateIn = 0
  inflateOut = 0

  /**
   * @param maxPayload largest inflated message in bytes (0: no limit); `maxInflatedSize` in
   *   the options lowers it further
   */
  constructor (params: NegotiatedDeflate, role: Role, options: DeflateOptions | true = {}, maxPayload = 0) {
    this.params = params
    this.userOptions = options
    this.options = resolveDeflateOptions(options)
    this.shareKey = role === 'server' ? sharedDeflateKey(params, options) : null
    this.threshold = this.options.threshold
    const limits = [maxPayload, this.options.maxInflatedSize ?? 0].filter(n => n > 0)
    this.maxInflated = limits.length === 0 ? 0 : Math.min(...limits)
    const server = role === 'server'
    this.ownNoContextTakeover = server ? params.serverNoContextTakeover : params.clientNoContextTakeover
    this.peerNoContextTakeover = server ? params.clientNoContextTakeover : params.serverNoContextTakeover
    this.ownWindowBits = server ? params.serverMaxWindowBits : params.clientMaxWindowBits
    this.peerWindowBits = server ? params.clientMaxWindowBits : params.serverMaxWindowBits
    this.borrows = server && this.options.compressor === 'borrowed' && !this.ownNoContextTakeover
    const limiter = sharedZlibLimiter(this.options.concurrencyLimit)
    this.deflateLane = new ZlibLane(limiter, (job, finish) => this.runDeflate(job, finish))
    this.inflateLane = new ZlibLane(limiter, (job, finish) => this.runInflate(job, finish))
  }

  /**
   * Compress a message, whole (`fin` true) or one fragment at a time (`fin` on the last). The
   * output of each call is that fragment's payload; an empty message becomes `0x00`.
   */
  compress (data: Buffer, fin: boolean, cb: DeflateCallback): void {
    if (this.closed) { process.nextTick(cb, wsError('WS_ERR_CONNECTION_CLOSED', 'permessage-deflate codec closed')); return }
    this.deflateIn += data.length
    this.deflateLane.push({ data, fin, cb })
  }

  /**
   * Inflate the payload of one frame of a compressed message (`fin` on its last frame). The
   * output of each call is what that payload inflates to. A message inflating to more than
   * the limit fails with WS_ERR_MESSAGE_TOO_BIG (close 1009) as soon as it passes the limit;
   * corrupt data fails with WS_ERR_INFLATE (close 1007).
   */
  decompress (data: Buffer, fin: boolean, cb: DeflateCallback): void {
    if (this.closed) { process.nextTick(cb, wsError('WS_ERR_CONNECTION_CLOSED', 'permessage-deflate codec closed')); return }
    this.inflateLane.push({ data, fin, cb })
  }

  /** Operations queued or running, both directions. */
  get pending (): number { return this.deflateLane.size + this.inflateLane.size }

  /**
   * Release the zlib streams. Operations still queued or running are failed, in order and
   * synchronously, with WS_ERR_CONNECTION_CLOSED; later calls fail the same way.
   */
  close (): void {
    if (this.closed) return
    this.closed = true
    const dropped = [...this.deflateLane.clear(), ...this.inflateLane.clear()]
    borrowers.delete(this)
    if (this.deflater !== null) discardWorker(this.deflater)
    if (this.inflater !== null) discardWorker(this.inflater)
    this.deflater = null
    this.inflater = null
    if (dropped.length === 0) return
    const err = wsError('WS_ERR_CONNECTION_CLOSED', 'permessage-deflate codec closed')
    for (const job of dropped) job.cb(err)
  }

  /**
   * Called by the sweep: give the borrowed compressor back to the pool (reset) if no message was
   * compressed since the last sweep and none is in progress. Returns true once nothing is held.
   * RFC 7692 section 7.1.1: with context takeover the compressor MAY use the previous messages'
   * window but need not, so the next message simply starts from an empty one; the peer's window
   * still holds everything it received, which references from a fresh window never reach into.
   */
  returnIdleCompressor (): boolean {
    const w = this.deflater
    if (w === null) return true
    if (this.deflatedRecently || this.deflateLane.size !== 0 || this.heldTail || this.deflatedSoFar !== 0) {
      this.deflatedRecently = false
      return false
    }
    this.deflater = null
    releaseWorker(w)
    return true
  }

  private runDeflate (job: Job, finish: () => void): void {
    let w = this.deflater
    if (w === null || w.broken) {
      if (w !== null) discardWorker(w)
      w = this.deflater = acquireDeflater(this.options.level, this.options.memLevel, this.ownWindowBits)
    }
    const worker = w
    worker.settle = err => {
      if (err !== null) {
        discardWorker(worker)
        this.deflater = null
        this.resetDeflateMessage()
        finish()
        job.cb(err)
        return
      }
      const out = this.framePayload(takeOutput(worker), job.fin)
      if (job.fin) {
        this.resetDeflateMessage()
        // RFC 7692 section 7.1.1: without context takeover on our side, each message starts
        // with an empty window; the reset stream goes back to the shared pool meanwhile.
        if (this.ownNoContextTakeover) { releaseWorker(worker); this.deflater = null } else if (this.borrows) {
          this.deflatedRecently = true
          trackBorrower(this)
        }
      }
      finish()
      job.cb(null, out)
    }
    worker.stream.write(job.data, (err?: Error | null) => finishWork(worker, err ?? null))
  }

  /**
   * Turn one write's sync-flushed output into this fragment's payload. RFC 7692 section
   * 7.2.1: the message's final 0x00 0x00 0xff 0xff is removed. Each write's tail is held back
   * and sent at the start of the next non-empty output, so the one that ends up last is
   * dropped even when the last fragment adds no data (zlib then outputs nothing at all).
   */
  private framePayload (out: Buffer, fin: boolean): Buffer {
    let payload: Buffer = EMPTY
    if (out.length > 0) {
      const body = endsWithSyncTail(out) ? out.subarray(0, out.length - 4) : out
      payload = this.heldTail ? Buffer.concat([SYNC_TAIL, body]) : body
      this.heldTail = body !== out
    }
    this.deflatedSoFar += payload.length
    if (fin && this.deflatedSoFar === 0) payload = EMPTY_MESSAGE
    this.deflateOut += payload.length
    return payload
  }

  private resetDeflateMessage (): void {
    this.heldTail = false
    this.deflatedSoFar = 0
  }

  private runInflate (job: Job, finish: () => void): void {
    this.compressedSoFar += job.data.length
    this.inflateIn += job.data.length
    if (job.fin && this.compressedSoFar === 0) {
      // An empty compressed message is 0x00 (RFC 7692 section 7.2.3.6), but some compressors
      // send nothing at all. Feeding the bare tail would leave zlib inside a stored block and
      // corrupt the next message, so an empty payload is read as an empty message.
      this.resetInflateMessage()
      process.nextTick(() => { finish(); job.cb(null, EMPTY) })
      return
    }
    let w = this.inflater
    if (w === null || w.broken || w.stream.readableEnded) {
      if (w !== null) discardWorker(w)
      w = this.inflater = acquireInflater(this.peerWindowBits)
    }
    const worker = w
    worker.limit = this.maxInflated === 0 ? Infinity : this.maxInflated - this.inflatedSoFar
    worker.settle = err => {
      if (err !== null) {
        discardWorker(worker)
        this.inflater = null
        this.resetInflateMessage()
        finish()
        const tooBig = (err as { code?: unknown }).code === 'WS_ERR_MESSAGE_TOO_BIG'
        job.cb(tooBig ? wsError('WS_ERR_MESSAGE_TOO_BIG', `inflated message larger than ${this.maxInflated} bytes`) : wsError('WS_ERR_INFLATE', err.message, err))
        return
      }
      const out = takeOutput(worker)
      this.inflatedSoFar += out.length
      this.inflateOut += out.length
      if (job.fin) {
        this.resetInflateMessage()
        // RFC 7692 section 7.1.1: the peer starts each message with an empty window, so ours
        // can be reset (and the stream pooled) between messages.
        if (this.peerNoContextTakeover) { releaseWorker(worker); this.inflater = null }
      }
      finish()
      job.cb(null, out)
    }
    // RFC 7692 section 7.2.2: append 0x00 0x00 0xff 0xff to the message's payload, then inflate.
    const input = job.fin ? Buffer.concat([job.data, SYNC_TAIL]) : job.data
    worker.stream.write(input, (err?: Error | null) => finishWork(worker, err ?? null))
  }

  private resetInflateMessage (): void {
    this.inflatedSoFar = 0
    this.compressedSoFar = 0
  }
}

/**
 * Key grouping connections that can receive the same precompressed message, or null when this
 * one cannot: only a server that drops its context after each message (server_no_context_takeover)
 * sends messages that do not depend on what it sent before. Connections with equal keys can
 * share the output of one {@link deflateOnce}.
 */
export function sharedDeflateKey (params: NegotiatedDeflate, options: DeflateOptions | true = {}): string | null {
  if (!params.serverNoContextTakeover) return null
  const o = resolveDeflateOptions(options)
  return `${o.level}:${o.memLevel}:${params.serverMaxWindowBits}`
}

/**
 * Compress one whole message once, as a server with no context takeover would, for a broadcast
 * to every connection with the same {@link sharedDeflateKey}. Uses the shared limiter and
 * pooled streams. The callback is never called synchronously.
 */
export function deflateOnce (data: Buffer, params: NegotiatedDeflate, options: DeflateOptions | true, cb: DeflateCallback): void {
  const o = resolveDeflateOptions(options)
  sharedZlibLimiter(o.concurrencyLimit).add(done => {
    const worker = acquireDeflater(o.level, o.memLevel, params.serverMaxWindowBits)
    worker.settle = err => {
      if (err !== null) { discardWorker(worker); done(); cb(err); return }
      const out = takeOutput(worker)
      releaseWorker(worker)
      done()
      const body = endsWithSyncTail(out) ? out.subarray(0, out.length - 4) : out
      cb(null, body.length === 0 ? EMPTY_MESSAGE : body)
    }
    worker.stream.write(data, (err?: Error | null) => finishWork(worker, err ?? null))
  })
}
