// The receiving half of a connection's data messages: UTF-8 checked as bytes arrive, pieces
// assembled into one message, compressed messages handed to the inflater (inflation.ts) and
// taken back from it. Control frames and the close handshake stay in connection.ts.
import { wsError, WebSocketError, type WebSocketErrorCode } from '../errors'
import { OPCODE_TEXT } from './constants'
import type { FrameParser } from './parser'
import { Utf8Validator } from './utf8'
import { MessageAssembler } from './assembler'
import type { PerMessageDeflate } from './deflate'
import { MessageInflater, type InflateSink } from './inflation'

/** What the receiver needs of its connection. */
export interface ReceiverOwner {
  /** a whole message, in order */
  deliver (data: Buffer, isBinary: boolean): void
  /** fail the connection (section 7.1.7) */
  failWith (err: WebSocketError): void
  /** an inflation that waited has finished: output may be due */
  inflateResumed (): void
  /** the connection is closed or stopped reading: inflated output is not wanted */
  readonly receiveCancelled: boolean
}

export class MessageReceiver implements InflateSink {
  private readonly owner: ReceiverOwner
  private readonly parser: FrameParser
  private readonly maxPayload: number
  private readonly utf8 = new Utf8Validator()
  private readonly assembler = new MessageAssembler()
  /** the receiving half of permessage-deflate, when negotiated */
  private readonly inflater: MessageInflater | null

  constructor (owner: ReceiverOwner, parser: FrameParser, maxPayload: number, deflate: PerMessageDeflate | null) {
    this.owner = owner
    this.parser = parser
    this.maxPayload = maxPayload
    this.inflater = deflate === null ? null : new MessageInflater(deflate, parser, this)
  }

  /** A piece of a data frame's payload (FrameHandler.onDataPiece). */
  piece (piece: Buffer, messageDone: boolean): void {
    const parser = this.parser
    const isText = parser.messageOpcode === OPCODE_TEXT
    if (parser.compressed) return (this.inflater as MessageInflater).piece(piece, messageDone, isText)
    // Section 8.1: fail fast on the first invalid byte, even in the middle of a fragment.
    if (isText && !this.utf8.write(piece, 0, piece.length)) return this.fail('WS_ERR_INVALID_UTF8')
    if (messageDone) {
      if (isText && !this.utf8.end()) return this.fail('WS_ERR_INVALID_UTF8', 'message ends inside a sequence')
      let data = piece
      if (this.assembler.length !== 0) {
        this.assembler.append(piece, parser.messageLength, this.maxPayload)
        data = this.assembler.take()
      } else if (parser.transient) {
        data = Buffer.from(piece) // the one copy of a message read into the shared buffer
      }
      this.owner.deliver(data, !isText)
      return
    }
    // A piece of a message still arriving: keep a copy (the chunk it is a view of gets reused).
    if (piece.length !== 0) this.assembler.append(piece, parser.messageLength, this.maxPayload)
  }

  /** Bytes held for a message being assembled or inflated. */
  get heldBytes (): number {
    return this.assembler.length + (this.inflater?.heldBytes ?? 0)
  }

  /** Drop whatever partial message is held (close received, failure, transport closed). */
  clear (): void {
    this.assembler.clear()
    this.inflater?.drop()
  }

  // ---- InflateSink ----

  get inflateCancelled (): boolean { return this.owner.receiveCancelled }

  inflated (out: Buffer, isText: boolean): boolean {
    // Section 8.1: fail fast on the first invalid byte, as soon as it is inflated.
    if (isText && !this.utf8.write(out, 0, out.length)) {
      this.fail('WS_ERR_INVALID_UTF8')
      return false
    }
    this.assembler.append(out, this.assembler.length + out.length, this.maxPayload)
    return true
  }

  inflatedMessage (isText: boolean): void {
    if (isText && !this.utf8.end()) return this.fail('WS_ERR_INVALID_UTF8', 'message ends inside a sequence')
    this.owner.deliver(this.assembler.take(), !isText)
  }

  inflateFailed (err: Error): void {
    this.owner.failWith(err instanceof WebSocketError ? err : wsError('WS_ERR_INFLATE', err.message))
  }

  inflateResumed (): void {
    this.owner.inflateResumed()
  }

  private fail (code: WebSocketErrorCode, detail?: string): void {
    this.owner.failWith(wsError(code, detail))
  }
}
