// A ConnectionHost that records everything a Connection reports, for byte-level engine tests.
import { Connection, type ConnectionHost, type ConnectionOptions } from '../../lib/engine/connection'
import type { WebSocketError } from '../../lib/errors'
import { decodeFrames, type DecodedFrame } from './frames'

export interface Recorded {
  messages: Array<{ data: Buffer, isBinary: boolean }>
  pings: Buffer[]
  pongs: Buffer[]
  errors: WebSocketError[]
  ends: boolean[]
}

export class RecordingHost implements ConnectionHost {
  readonly rec: Recorded = { messages: [], pings: [], pongs: [], errors: [], ends: [] }
  conn!: Connection
  /** message payloads are copied: a zero-copy view may point into a chunk the test reuses */
  onMessage (data: Buffer, isBinary: boolean): void { this.rec.messages.push({ data: Buffer.from(data), isBinary }) }
  onPing (data: Buffer): void { this.rec.pings.push(Buffer.from(data)) }
  onPong (data: Buffer): void { this.rec.pongs.push(Buffer.from(data)) }
  onOutput (): void {}
  onTransportEnd (destroy: boolean): void { this.rec.ends.push(destroy) }
  onError (err: WebSocketError): void { this.rec.errors.push(err) }

  /** Everything the connection has written so far, as one buffer. */
  output (): Buffer {
    const chunks = this.conn.writer.take()
    return chunks === null ? Buffer.alloc(0) : Buffer.concat(chunks)
  }

  outputFrames (): DecodedFrame[] { return decodeFrames(this.output()) }
}

export function makeConnection (options: ConnectionOptions): { conn: Connection, host: RecordingHost } {
  const host = new RecordingHost()
  const conn = new Connection(host, options)
  host.conn = conn
  return { conn, host }
}
