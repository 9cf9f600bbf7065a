// Topics: the local subscriber registry and fan-out. A message published to N subscribers is
// framed once, then queued N times (each socket's backpressure policy applies to it alone).
import { randomUUID } from 'node:crypto'
import { buildFrame } from '../engine/serializer'
import { deflateOnce } from '../engine/deflate'
import type { SharedFrame } from '../engine/connection'
import { OPCODE_BINARY, OPCODE_TEXT, OPEN } from '../engine/constants'
import { isPromiseLike } from '../engine/promise-like'
import type { WebSocket } from '../socket'
import { sessionOf } from '../session'
import type { AdapterContext, PubSubAdapter, PublishedMessage } from './adapter'

export type { PublishOptions } from '../socket'

const NO_SUBSCRIBERS: ReadonlySet<WebSocket> = new Set()

export class Topics {
  /** this process, to recognise its own messages coming back from the adapter */
  readonly origin = randomUUID()
  private readonly topics = new Map<string, Set<WebSocket>>()
  private readonly adapter: PubSubAdapter
  private readonly log: (err: unknown, msg: string) => void

  constructor (adapter: PubSubAdapter, log: (err: unknown, msg: string) => void) {
    this.adapter = adapter
    this.log = log
  }

  start (context: AdapterContext): void | Promise<void> {
    return this.adapter.start(message => this.deliver(message), context)
  }

  close (): void | Promise<void> {
    this.topics.clear()
    return this.adapter.close?.()
  }

  subscribe (socket: WebSocket, topic: string): boolean {
    if (socket.readyState !== OPEN) return false
    let set = this.topics.get(topic)
    if (set === undefined) {
      set = new Set()
      this.topics.set(topic, set)
      this.settle(this.adapter.subscribe?.(topic), 'pub/sub adapter subscribe failed')
    }
    if (set.has(socket)) return false
    set.add(socket)
    ;(sessionOf(socket).topics ??= new Set()).add(topic)
    return true
  }

  unsubscribe (socket: WebSocket, topic: string): boolean {
    const set = this.topics.get(topic)
    if (set === undefined || !set.delete(socket)) return false
    sessionOf(socket).topics?.delete(topic)
    if (set.size === 0) {
      this.topics.delete(topic)
      this.settle(this.adapter.unsubscribe?.(topic), 'pub/sub adapter unsubscribe failed')
    }
    return true
  }

  /** Closing a socket unsubscribes it from everything. */
  unsubscribeAll (socket: WebSocket): void {
    const session = sessionOf(socket)
    const topics = session.topics
    if (topics === null) return
    for (const topic of [...topics]) this.unsubscribe(socket, topic)
    session.topics = null
  }

  subscribers (topic: string): ReadonlySet<WebSocket> {
    return this.topics.get(topic) ?? NO_SUBSCRIBERS
  }

  /** Subscribers per topic, for app.websocketStats(). */
  subscriberCounts (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [topic, set] of this.topics) out[topic] = set.size
    return out
  }

  /** The adapter's name and whether it is connected (an adapter without `connected` is in-process: always). */
  adapterState (): { name: string, connected: boolean } {
    return { name: this.adapter.constructor.name, connected: this.adapter.connected ?? true }
  }

  /** Publish to every subscriber of `topic` (but `except`, when a socket publishes). */
  publish (topic: string, data: Buffer, binary: boolean, except: WebSocket | null): void {
    this.settle(this.adapter.publish({ topic, data, binary, origin: this.origin, exceptSocket: except?.id ?? null }),
      'pub/sub adapter publish failed')
  }

  /**
   * Fan a message out to the local subscribers: framed once, queued on each. Subscribers whose
   * deflate settings let them share a compressed message (server_no_context_takeover, same zlib
   * settings) get one compressed once per group; each holds its place in its socket's queue
   * while that runs, so order per socket is kept. The others get the plain frame (RFC 7692
   * section 6: a message may always be sent uncompressed).
   */
  deliver (message: PublishedMessage): void {
    const set = this.topics.get(message.topic)
    if (set === undefined) return
    const opcode = message.binary ? OPCODE_BINARY : OPCODE_TEXT
    const except = message.origin === this.origin ? message.exceptSocket : null
    const size = message.data.length
    let plain: Buffer | null = null
    let groups: Map<string, WebSocket[]> | null = null
    for (const socket of set) {
      if (except !== null && socket.id === except) continue
      const session = sessionOf(socket)
      const codec = session.conn.deflateCodec
      if (codec !== null && codec.shareKey !== null && size >= codec.threshold) {
        groups ??= new Map()
        const group = groups.get(codec.shareKey)
        if (group === undefined) groups.set(codec.shareKey, [socket])
        else group.push(socket)
        continue
      }
      plain ??= buildFrame(opcode, true, false, message.data)
      if (!session.sendFrame(plain)) this.dropIfClosing(socket)
    }
    if (groups !== null) for (const group of groups.values()) this.compressOnce(group, message, opcode)
  }

  /**
   * A subscriber that can no longer receive (the 'close' backpressure policy has just failed it,
   * or its closing handshake has begun) leaves its topics now. Waiting for its TCP close would
   * keep it listed for as long as the peer takes to close, and the order in which two sockets'
   * closes are seen differs between Node versions.
   */
  private dropIfClosing (socket: WebSocket): void {
    if (socket.readyState !== OPEN) this.unsubscribeAll(socket)
  }

  private compressOnce (group: WebSocket[], message: PublishedMessage, opcode: number): void {
    const entry: SharedFrame = { frame: null, bytes: message.data.length }
    const waiting = group.filter(socket => {
      if (sessionOf(socket).sendShared(entry)) return true
      this.dropIfClosing(socket)
      return false
    })
    if (waiting.length === 0) return
    const codec = sessionOf(waiting[0]).conn.deflateCodec!
    deflateOnce(message.data, codec.params, codec.userOptions, (err, out) => {
      // a failed compression still delivers the message, uncompressed
      entry.frame = err !== null || out === undefined
        ? buildFrame(opcode, true, false, message.data)
        : buildFrame(opcode, true, true, out)
      if (err !== null) this.log(err, 'pub/sub compression failed; sent uncompressed')
      for (const socket of waiting) sessionOf(socket).conn.sharedReady()
    })
  }

  private settle (result: void | Promise<void> | undefined, msg: string): void {
    if (isPromiseLike(result)) result.then(undefined, err => this.log(err, msg))
  }
}
