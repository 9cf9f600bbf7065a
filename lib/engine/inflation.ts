// The receiving half of permessage-deflate: the compressed frames of a message go to zlib in
// batches, whatever their number and size. RFC 7692 section 7.2.2: a message is inflated as its
// pieces arrive, so one inflating past the limit fails (1009) without the rest being inflated.
//
// Why batches: zlib works on the thread pool, one job at a time per connection. A job (and a
// copy) per frame let a peer queue millions of jobs with one compressed frame followed by empty
// continuations (issue 10). Here the pieces are copied into one buffer; a job starts when
// INFLATE_BATCH bytes are there or the message ends; while a job runs, at most
// INFLATE_WAITING_MAX bytes wait before the parser stops taking more (its backlog, in turn, stops
// the socket reading). Memory per connection is O(those bounds), work O(bytes).
import type { WebSocketError } from '../errors'
import type { FrameParser } from './parser'
import type { PerMessageDeflate } from './deflate'

/** compressed bytes gathered before one inflate job: big enough that small frames share a job */
const INFLATE_BATCH = 64 * 1024
/** compressed bytes waiting behind a running inflate before the parser stops taking more */
const INFLATE_WAITING_MAX = 256 * 1024
/** the first buffer a batch of compressed input is gathered in */
const MIN_INFLATE_INPUT = 1024
const EMPTY = Buffer.alloc(0)

/** Where inflated bytes go (the connection). Called asynchronously, never from `piece()`. */
export interface InflateSink {
  /** Inflated bytes of the message in progress, in order; false when they failed it. */
  inflated (out: Buffer, isText: boolean): boolean
  /** The message is complete: deliver it. */
  inflatedMessage (isText: boolean): void
  /** zlib failed, or the message inflated past its limit. */
  inflateFailed (err: Error): void
  /** Whether results should be dropped (the connection closed or stopped parsing meanwhile). */
  readonly inflateCancelled: boolean
  /** The parser took more bytes: let the host flush and reconsider reading. */
  inflateResumed (): void
}

export class MessageInflater {
  private readonly codec: PerMessageDeflate
  private readonly parser: FrameParser
  private readonly sink: InflateSink
  /** copied compressed input not yet given to zlib */
  private input: Buffer | null = null
  private inputBytes = 0
  /** the message's last frame has arrived (its payload is in `input` or being inflated) */
  private lastSeen = false
  private running = false
  /** the message is text (the parser's opcode is gone once its last frame is read) */
  private isText = false

  constructor (codec: PerMessageDeflate, parser: FrameParser, sink: InflateSink) {
    this.codec = codec
    this.parser = parser
    this.sink = sink
  }

  /** Compressed bytes waiting for zlib. */
  get heldBytes (): number { return this.inputBytes }

  /**
   * A piece of a compressed message's payload (a view: copied if kept). `last` ends the message:
   * the parser pauses until the message is delivered, so nothing overtakes it.
   */
  piece (piece: Buffer, last: boolean, isText: boolean): void {
    this.isText = isText
    if (piece.length !== 0) this.keep(piece)
    if (last) {
      this.lastSeen = true
      this.parser.pause()
    } else if (this.running && this.inputBytes >= INFLATE_WAITING_MAX) {
      this.parser.pause()
    }
    this.pump()
  }

  /** Forget the message in progress (the connection failed or closed). */
  drop (): void {
    this.input = null
    this.inputBytes = 0
    this.lastSeen = false
  }

  /** One buffer for the batch, not one per piece (a 1-byte piece would cost ~100 bytes of heap). */
  private keep (piece: Buffer): void {
    const used = this.inputBytes
    const need = used + piece.length
    let buf = this.input
    if (buf === null || need > buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, MIN_INFLATE_INPUT, buf === null ? 0 : buf.length * 2))
      if (buf !== null && used !== 0) buf.copy(next, 0, 0, used)
      this.input = buf = next
    }
    buf.set(piece, used)
    this.inputBytes = need
  }

  /** Start the next job if none runs and a batch (or the end of the message) is there. */
  private pump (): void {
    if (this.running) return
    const last = this.lastSeen
    if (!last && this.inputBytes < INFLATE_BATCH) return
    // the job owns this buffer now; the next piece starts another
    const input = this.input === null ? EMPTY : this.input.subarray(0, this.inputBytes)
    this.input = null
    this.inputBytes = 0
    this.running = true
    const isText = this.isText
    this.codec.decompress(input, last, (err, out) => this.done(err, out, last, isText))
  }

  private done (err: Error | null, out: Buffer | undefined, last: boolean, isText: boolean): void {
    this.running = false
    const sink = this.sink
    if (sink.inflateCancelled) return
    if (err !== null) return sink.inflateFailed(err as WebSocketError)
    if (out !== undefined && out.length !== 0 && !sink.inflated(out, isText)) return
    if (!last) {
      this.pump()
      // the parser stopped taking pieces while too much waited: take more now
      if (!this.lastSeen && this.parser.isPaused && this.inputBytes < INFLATE_WAITING_MAX) {
        this.parser.resume()
        sink.inflateResumed()
      }
      return
    }
    this.lastSeen = false
    sink.inflatedMessage(isText)
    this.parser.resume()
    sink.inflateResumed()
  }
}
