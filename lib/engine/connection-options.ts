// What a Connection is told at construction (its options) and whom it reports to (its host).
// Kept apart from connection.ts so that the layers above can name them without the class.
import type { WebSocketError } from '../errors'
import type { Role } from './constants'
import type { PerMessageDeflate } from './deflate'

/** What a connection reports to whoever owns the transport. */
export interface ConnectionHost {
  onMessage (data: Buffer, isBinary: boolean): void
  onPing (data: Buffer): void
  onPong (data: Buffer): void
  /** Frames were queued on `connection.writer`: write them soon. */
  onOutput (): void
  /**
   * The protocol is done with the transport. `destroy` false: write what is queued, then end it
   * (close handshake complete, or the connection failed); true: tear it down now (a timeout).
   */
  onTransportEnd (destroy: boolean): void
  /** The connection failed (protocol error, invalid data, limit, timeout). */
  onError (err: WebSocketError): void
}

export interface ConnectionOptions {
  role: Role
  /** largest message accepted, in bytes (default 16 MiB); larger ones close 1009 */
  maxPayload?: number
  /** answer pings automatically (default true) */
  autoPong?: boolean
  /** ms to wait for the peer's close frame (or TCP close) after ours (default 5000) */
  closeTimeout?: number
  /** ms between heartbeat pings, 0 for none (default 0) */
  heartbeatInterval?: number
  /** ms a heartbeat ping may wait for its pong before the peer counts as dead (default: the interval) */
  pongTimeout?: number
  /** pings awaiting a pong at once (default 16) */
  maxPendingPings?: number
  /**
   * automatic pongs queued while the transport holds output the peer has not read (the host
   * sets `outputBacklogged`, and reports the end of it with `outputDrained()`) before the peer
   * counts as flooding: default 100, 0 for no limit
   */
  maxPendingAutoPongs?: number
  /** past maxPendingAutoPongs: fail the connection (1008, default) or answer no more pings until drained */
  dropExcessPongs?: boolean
  /** most frames one message may arrive in, empty ones included (default 65536, 0: no limit) */
  maxFragments?: number
  /** split outgoing messages larger than this into frames of this size, 0 for never (default 0) */
  fragmentSize?: number
  /** clock in ms, for round-trip times (default performance.now) */
  now?: () => number
  /** the permessage-deflate codec, when the extension was negotiated (RFC 7692) */
  deflate?: PerMessageDeflate | null
}

/** as ws 8.23 (which closes past 60): a peer that reads nothing cannot make us queue pongs for ever */
export const DEFAULT_MAX_PENDING_AUTO_PONGS = 100
