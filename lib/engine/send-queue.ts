// The sending half of a connection: messages go to the frame writer in the order they were sent.
// Without compression a send is written at once. With permessage-deflate, a message to compress
// (or a broadcast frame still compressing) holds its place in a queue and the sends behind it
// wait, so nothing overtakes it; the queue drains as compressions finish.
import { wsError } from '../errors'
import { OPCODE_TEXT, OPCODE_BINARY, OPCODE_CONTINUATION } from './constants'
import type { FrameWriter } from './serializer'
import type { PerMessageDeflate } from './deflate'

/** Called once the frames of a message are queued for the transport, or with the error that stopped it. */
export type SentCallback = (err?: Error) => void

/** A complete frame shared by many connections (a broadcast), filled in once it is compressed. */
export interface SharedFrame { frame: Buffer | null, bytes: number }

/** What the queue reports to its connection. */
export interface SendQueueOwner {
  /** Frames were queued on the writer: write them soon. */
  queueOutput (): void
  /** The queue ran dry after waiting (a close frame held behind it may go now). */
  queueDrained (): void
  /** A compression failed: the connection fails. */
  queueFailed (err: Error): void
  /** Whether the connection is gone (late compressions are dropped). */
  readonly queueClosed: boolean
}

/** One kind of item at a time: a message (`data`), a prebuilt frame (`raw`) or a broadcast (`shared`). */
interface QueuedSend {
  data: Uint8Array
  isBinary: boolean
  compress: boolean
  raw: boolean
  shared: SharedFrame | null
  cb: SentCallback | null
}

const EMPTY = Buffer.alloc(0)

export class SendQueue {
  /** payload bytes waiting in the queue (part of bufferedAmount) */
  queuedBytes = 0
  /** split outgoing messages larger than this into frames of this size, 0 for never */
  fragmentSize: number
  private items: QueuedSend[] | null = null
  private compressing = false
  private sentCallbacks: SentCallback[] | null = null
  private readonly writer: FrameWriter
  private readonly deflate: PerMessageDeflate | null
  private readonly owner: SendQueueOwner

  constructor (owner: SendQueueOwner, writer: FrameWriter, deflate: PerMessageDeflate | null, fragmentSize: number) {
    this.owner = owner
    this.writer = writer
    this.deflate = deflate
    this.fragmentSize = fragmentSize
  }

  /** Sends are waiting behind a compression. */
  get waiting (): boolean { return this.items !== null }

  /** A data message; compressed when deflate was negotiated, `compress` allows and it reaches the threshold. */
  send (data: Uint8Array, isBinary: boolean, compress: boolean, cb: SentCallback | null): void {
    const deflate = this.deflate
    const deflateIt = deflate !== null && compress && data.length >= deflate.threshold
    if (this.items === null && !deflateIt) {
      this.writeMessage(data, isBinary, false)
      if (cb !== null) this.addSentCallback(cb)
      this.owner.queueOutput()
      return
    }
    (this.items ??= []).push({ data, isBinary, compress: deflateIt, raw: false, shared: null, cb })
    this.queuedBytes += data.length
    if (!this.compressing) this.pump()
  }

  /** A frame built elsewhere (a broadcast frame shared by many connections). */
  raw (frame: Buffer): void {
    if (this.items !== null) {
      // behind a compression in progress: keep the order
      this.items.push({ data: frame, isBinary: true, compress: false, raw: true, shared: null, cb: null })
      this.queuedBytes += frame.length
      return
    }
    this.writer.raw(frame)
    this.owner.queueOutput()
  }

  /** A broadcast frame that may still be compressing: it holds its place until `sharedReady()`. */
  shared (entry: SharedFrame): void {
    ;(this.items ??= []).push({ data: EMPTY, isBinary: true, compress: false, raw: true, shared: entry, cb: null })
    this.queuedBytes += entry.bytes
    if (!this.compressing) this.pump()
  }

  /** A shared frame this queue may be waiting for is ready. */
  sharedReady (): void {
    if (!this.compressing && this.items !== null) this.pump()
  }

  /** Callbacks of the messages queued on the writer since the last call. */
  takeSentCallbacks (): SentCallback[] | null {
    const cbs = this.sentCallbacks
    this.sentCallbacks = null
    return cbs
  }

  /** Drop what waits, telling each send's callback `err`. */
  drop (err: Error): void {
    const items = this.items
    this.items = null
    this.queuedBytes = 0
    if (items !== null) for (const item of items) if (item.cb !== null) item.cb(err)
  }

  private addSentCallback (cb: SentCallback): void {
    if (this.sentCallbacks === null) this.sentCallbacks = [cb]
    else this.sentCallbacks.push(cb)
  }

  private writeMessage (data: Uint8Array, isBinary: boolean, compressed: boolean): void {
    const opcode = isBinary ? OPCODE_BINARY : OPCODE_TEXT
    const size = this.fragmentSize
    if (size === 0 || data.length <= size) {
      this.writer.frame(opcode, true, compressed, data)
      return
    }
    for (let at = 0; at < data.length; at += size) {
      const end = Math.min(at + size, data.length)
      // RFC 7692 section 6.1: RSV1 on the first frame of a compressed message only
      this.writer.frame(at === 0 ? opcode : OPCODE_CONTINUATION, end === data.length, compressed && at === 0, data.subarray(at, end))
    }
  }

  /** Write queued sends in order until one needs compressing; then wait for it. */
  private pump (): void {
    const items = this.items
    // eslint-disable-next-line no-unmodified-loop-condition -- the loop shifts from the queue
    while (items !== null && items.length !== 0) {
      const item = items[0]
      if (item.shared !== null) {
        const frame = item.shared.frame
        if (frame === null) return // waits for the broadcast's compression
        items.shift()
        this.queuedBytes -= item.shared.bytes
        this.writer.raw(frame)
        continue
      }
      if (item.compress) {
        this.compressing = true
        ;(this.deflate as PerMessageDeflate).compress(Buffer.from(item.data.buffer, item.data.byteOffset, item.data.length), true,
          (err, out) => this.compressed(err, out))
        return
      }
      items.shift()
      this.queuedBytes -= item.data.length
      if (item.raw) this.writer.raw(item.data as Buffer)
      else this.writeMessage(item.data, item.isBinary, false)
      if (item.cb !== null) this.addSentCallback(item.cb)
    }
    this.items = null
    this.owner.queueDrained()
  }

  private compressed (err: Error | null, out: Buffer | undefined): void {
    this.compressing = false
    const items = this.items
    if (this.owner.queueClosed || items === null) return
    const item = items.shift() as QueuedSend
    this.queuedBytes -= item.data.length
    if (err !== null || out === undefined) {
      if (item.cb !== null) item.cb(err ?? undefined)
      this.owner.queueFailed(wsError('WS_ERR_DEFLATE', err?.message ?? 'no output', err ?? undefined))
      return
    }
    this.writeMessage(out, item.isBinary, true)
    if (item.cb !== null) this.addSentCallback(item.cb)
    this.pump()
  }
}
