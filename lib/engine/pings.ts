// Pings awaiting their pong, round-trip times and the heartbeat schedule of one connection
// (RFC 6455 sections 5.5.2 and 5.5.3). No timers: the connection asks with the current time.
import { wsError, type WebSocketError } from '../errors'

export type PingCallback = (err: WebSocketError | null, rtt?: number) => void

interface PendingPing { payload: Buffer, sentAt: number, cb: PingCallback | null }

export class PingTracker {
  /** last measured round-trip time in ms (a ping answered by its pong), -1 before the first */
  latency = -1
  private pending: PendingPing[] | null = null
  private counter = 0
  private readonly interval: number
  private readonly timeout: number
  private readonly maxPending: number
  private nextHeartbeat = 0
  // the heartbeat's own ping is kept apart: it never takes an application ping's place
  private heartbeatPayload: Buffer | null = null
  private heartbeatSentAt = 0
  private pongDeadline = 0

  /** `interval` 0 disables the heartbeat. */
  constructor (interval: number, timeout: number, maxPending: number, now: number) {
    this.interval = interval
    this.timeout = timeout
    this.maxPending = maxPending
    if (interval > 0) this.nextHeartbeat = now + interval
  }

  /**
   * Register an application ping and return its payload: the given bytes, or a 4-byte sequence
   * number so that the pong can be matched. Throws WS_ERR_PING_LIMIT past `maxPending`.
   */
  start (data: Uint8Array | undefined, cb: PingCallback | null, now: number): Buffer {
    const payload = data === undefined ? this.nextPayload() : Buffer.from(data)
    const pending = this.pending ?? (this.pending = [])
    if (pending.length >= this.maxPending) throw wsError('WS_ERR_PING_LIMIT', `${this.maxPending} pending`)
    pending.push({ payload, sentAt: now, cb })
    return payload
  }

  /** The payload of a heartbeat ping due now, or null. */
  heartbeatDue (now: number): Buffer | null {
    if (this.nextHeartbeat === 0 || now < this.nextHeartbeat) return null
    this.nextHeartbeat = now + this.interval
    if (this.heartbeatPayload !== null) return null // the previous one is still unanswered
    const payload = this.nextPayload()
    this.heartbeatPayload = payload
    this.heartbeatSentAt = now
    this.pongDeadline = now + this.timeout
    return payload
  }

  /** Whether a heartbeat ping went unanswered past its timeout (the peer counts as dead). */
  overdue (now: number): boolean {
    if (this.pongDeadline === 0 || now < this.pongDeadline) return false
    this.pongDeadline = 0
    return true
  }

  /**
   * Section 5.5.3: a pong answers the ping with the same payload; a peer may answer only the
   * latest of several pings, so the match settles every older one too. Unsolicited pongs are ignored.
   */
  pong (payload: Buffer, now: number): void {
    if (this.heartbeatPayload !== null && payload.equals(this.heartbeatPayload)) {
      this.heartbeatPayload = null
      this.pongDeadline = 0
      this.latency = now - this.heartbeatSentAt
    }
    const pending = this.pending
    if (pending === null) return
    let match = -1
    for (let i = pending.length - 1; i >= 0; i--) {
      if (pending[i].payload.equals(payload)) { match = i; break }
    }
    if (match === -1) return
    const settled = pending.splice(0, match + 1)
    this.latency = now - settled[match].sentAt
    for (const p of settled) if (p.cb !== null) p.cb(null, now - p.sentAt)
    if (pending.length === 0) this.pending = null
  }

  /** Stop the heartbeat and fail every pending ping with `err`. */
  /** Pings awaiting their pong. */
  get waiting (): boolean { return this.pending !== null }

  /** Stop the heartbeat and settle every pending ping with `err` (given whenever one is waiting). */
  clear (err: WebSocketError | null): void {
    this.nextHeartbeat = 0
    this.pongDeadline = 0
    const pending = this.pending
    this.pending = null
    if (pending !== null && err !== null) for (const p of pending) if (p.cb !== null) p.cb(err)
  }

  private nextPayload (): Buffer {
    const payload = Buffer.allocUnsafe(4)
    payload.writeUInt32BE(this.counter = (this.counter + 1) >>> 0, 0)
    return payload
  }
}

/**
 * Automatic pongs (section 5.5.2) owed while the transport holds output the peer has not read.
 * Only while output is backed up do they count: a burst of pings from a peer that reads is
 * answered in full, a flood from one that does not is cut off at `max` (0: no limit).
 */
export class AutoPongBudget {
  /** set by the host after each write; cleared by `drained()` */
  backlogged = false
  pending = 0
  private readonly max: number

  constructor (max: number) {
    this.max = max
  }

  /** Whether one more automatic pong may be queued now. */
  take (): boolean {
    if (!this.backlogged || this.max === 0) return true
    if (this.pending >= this.max) return false
    this.pending++
    return true
  }

  /** The transport took everything queued: nothing is owed any more. */
  drained (): void {
    this.backlogged = false
    this.pending = 0
  }
}
