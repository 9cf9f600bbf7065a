// The one owner of reading. A connection stops reading from its transport for several reasons
// that come and go independently; each is a bit here, and the stream reads only while no bit is
// set. Nothing else pauses or resumes the stream, so one reason clearing can never restart reads
// that another still needs stopped (the wave-1 bug: three parts of the code paused and resumed
// the same stream without knowing of each other).
import type { Duplex } from 'node:stream'

/** Messages are held while an async open handler runs, and more than the hold bound waits. */
export const READ_HELD = 1
/** A compressed message is inflating and the parser's backlog is over its bound. */
export const READ_INFLATING = 2
/** The application paused (socket.pause(), or a full Duplex adapter). */
export const READ_CONSUMER = 4
/** Our output to the peer is over maxBackpressure (a peer that sends pings and never reads). */
export const READ_OUTPUT = 8
/** Not started yet: the bytes that came with the handshake go to the parser first. */
export const READ_NOT_STARTED = 16

export class ReadGate {
  private reasons = READ_NOT_STARTED
  private readonly stream: Duplex

  constructor (stream: Duplex) {
    this.stream = stream
  }

  /** Whether `reason` (one bit or several) is among the reasons reading is stopped. */
  has (reason: number): boolean { return (this.reasons & reason) !== 0 }

  /** Stop reading for `reason`, until `unblock(reason)`. */
  block (reason: number): void {
    if (this.reasons === 0 && !this.stream.destroyed) this.stream.pause()
    this.reasons |= reason
  }

  /** `reason` no longer applies; reading resumes once no other reason is left. */
  unblock (reason: number): void {
    if ((this.reasons & reason) === 0) return
    this.reasons &= ~reason
    if (this.reasons === 0 && !this.stream.destroyed) this.stream.resume()
  }

  /** Start reading (once the handshake's leftover bytes have been parsed), unless blocked. */
  start (): void {
    if ((this.reasons & READ_NOT_STARTED) === 0) return
    this.reasons &= ~READ_NOT_STARTED
    if (this.stream.destroyed) return
    // the transport may have left the stream flowing (transport.ts attach): stop it if a reason
    // to stay still arose while the handshake's bytes were parsed
    if (this.reasons === 0) this.stream.resume()
    else this.stream.pause()
  }
}
