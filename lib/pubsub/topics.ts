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
import { wsError } from '../errors'
import type { AdapterContext, PubSubAdapter, PublishedMessage } from './adapter'
import { resumeHeader, parseResume, compareIds, type ReplayResult, type ResumeRequest } from './resume'

export type { PublishOptions } from '../socket'

const NO_SUBSCRIBERS: ReadonlySet<WebSocket> = new Set()
const DEFAULT_MAX_RESUME_TOPICS = 100

/** Live messages held for a socket while its replay of a topic is fetched (an async adapter). */
interface Waiting {
  messages: PublishedMessage[]
  bytes: number
}

export class Topics {
  /** this process, to recognise its own messages coming back from the adapter */
  readonly origin = randomUUID()
  private readonly topics = new Map<string, Set<WebSocket>>()
  private readonly adapter: PubSubAdapter
  private readonly log: (err: unknown, msg: string) => void
  /** each socket's `resume` parameters, parsed at its first resumable subscribe */
  private readonly resumeRequests = new WeakMap<WebSocket, ResumeRequest>()
  /** sockets whose replay of a topic is on its way: live messages of it wait (see resume()) */
  private readonly waiting = new Map<WebSocket, Map<string, Waiting>>()

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
    if (this.adapter.replay !== undefined && this.adapter.resumable?.(topic) === true) this.resume(socket, topic)
    return true
  }

  unsubscribe (socket: WebSocket, topic: string): boolean {
    const set = this.topics.get(topic)
    if (set === undefined || !set.delete(socket)) return false
    sessionOf(socket).topics?.delete(topic)
    this.stopWaiting(socket, topic)
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
    if (message.gap === true && message.id !== undefined) {
      const gap = buildFrame(OPCODE_TEXT, true, false, resumeHeader('g', message.id, message.topic))
      for (const socket of set) {
        if (!(this.waiting.get(socket)?.has(message.topic) ?? false) && !sessionOf(socket).sendFrame(gap)) this.dropIfClosing(socket)
      }
      return
    }
    // a resumable topic's message carries its id: the header goes in front of the data, once
    if (message.id !== undefined) message = { ...message, data: Buffer.concat([resumeHeader('m', message.id, message.topic), message.data]) }
    const opcode = message.binary ? OPCODE_BINARY : OPCODE_TEXT
    const except = message.origin === this.origin ? message.exceptSocket : null
    const size = message.data.length
    let plain: Buffer | null = null
    let groups: Map<string, WebSocket[]> | null = null
    for (const socket of set) {
      if (except !== null && socket.id === except) continue
      if (this.waiting.size > 0 && this.wait(socket, message)) continue
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

  /**
   * A socket subscribed to a resumable topic: send it what it missed since the id it presented
   * (or the gap), then the synced marker, before any live message of the topic. An adapter that
   * answers later (Redis) has live messages wait meanwhile; those the replay covered are dropped.
   */
  private resume (socket: WebSocket, topic: string): void {
    let request = this.resumeRequests.get(socket)
    if (request === undefined) {
      request = parseResume(socket.url, this.adapter.maxResumeTopics ?? DEFAULT_MAX_RESUME_TOPICS)
      this.resumeRequests.set(socket, request)
      if (!request.valid) {
        socket.log.warn({ err: wsError('WS_ERR_RESUME_INVALID') }, 'resume parameters ignored: every resumable topic starts with a gap')
      }
    }
    const after = request.valid ? (request.positions.get(topic) ?? null) : null
    let result: ReplayResult | Promise<ReplayResult>
    try {
      result = this.adapter.replay!(topic, after)
    } catch (err) {
      this.replayFailed(socket, topic, err)
      return
    }
    if (!isPromiseLike(result)) {
      this.sendReplay(socket, topic, request.valid ? result : lostAll(result))
      return
    }
    let forSocket = this.waiting.get(socket)
    if (forSocket === undefined) this.waiting.set(socket, forSocket = new Map())
    const waiting: Waiting = { messages: [], bytes: 0 }
    forSocket.set(topic, waiting)
    const valid = request.valid
    result.then(r => {
      if (this.waiting.get(socket)?.get(topic) !== waiting) return // unsubscribed meanwhile
      this.stopWaiting(socket, topic)
      // A socket resuming from an id got, in the replay, every message up to r.last: those that
      // waited are not sent twice. One subscribing afresh got no replay: what was published
      // after it subscribed and before the adapter answered goes before its synced marker.
      const early = valid && after === null ? waiting.messages.filter(m => compareIds(m.id!, r.last) <= 0) : []
      this.sendReplay(socket, topic, valid ? r : lostAll(r), early)
      for (const m of waiting.messages) {
        if (compareIds(m.id!, r.last) > 0) this.sendTo(socket, m)
      }
    }, err => {
      if (this.waiting.get(socket)?.get(topic) !== waiting) return
      this.stopWaiting(socket, topic)
      this.replayFailed(socket, topic, err)
    })
  }

  private sendReplay (socket: WebSocket, topic: string, r: ReplayResult, early: PublishedMessage[] = []): void {
    if (socket.readyState !== OPEN) return
    const session = sessionOf(socket)
    if (r.gap !== null) session.sendFrame(buildFrame(OPCODE_TEXT, true, false, resumeHeader('g', r.gap, topic)))
    for (const m of r.messages) {
      const data = Buffer.concat([resumeHeader('m', m.id, topic), m.data])
      session.sendFrame(buildFrame(m.binary ? OPCODE_BINARY : OPCODE_TEXT, true, false, data))
    }
    // (their data already carries the header: deliver() put it there)
    for (const m of early) session.sendFrame(buildFrame(m.binary ? OPCODE_BINARY : OPCODE_TEXT, true, false, m.data))
    if (!session.sendFrame(buildFrame(OPCODE_TEXT, true, false, resumeHeader('s', r.last, topic)))) this.dropIfClosing(socket)
  }

  /** The replay could not be read: the client reconnects and presents its id again. */
  private replayFailed (socket: WebSocket, topic: string, err: unknown): void {
    this.log(err, `pub/sub replay of ${JSON.stringify(topic)} failed; closing the socket (1011) so that it resumes later`)
    if (socket.readyState === OPEN) socket.close(1011, 'replay failed')
  }

  /** Hold `message` if `socket` waits for its replay of the topic; false if it does not wait. */
  private wait (socket: WebSocket, message: PublishedMessage): boolean {
    const waiting = this.waiting.get(socket)?.get(message.topic)
    if (waiting === undefined) return false
    if (message.id === undefined) return true
    waiting.messages.push(message)
    waiting.bytes += message.data.length
    // bounded as the socket's own output is: a replay slower than the topic is refused
    if (waiting.bytes > sessionOf(socket).ctx.maxBackpressure) {
      this.stopWaiting(socket, message.topic)
      this.log(wsError('WS_ERR_RESUME_TOO_SLOW'),
        'pub/sub replay too slow; closing the socket (1013) so that it resumes later')
      socket.close(1013, 'replay too slow')
    }
    return true
  }

  private stopWaiting (socket: WebSocket, topic: string): void {
    const forSocket = this.waiting.get(socket)
    if (forSocket === undefined) return
    forSocket.delete(topic)
    if (forSocket.size === 0) this.waiting.delete(socket)
  }

  /** One message to one socket, uncompressed (RFC 7692 section 6 allows it). */
  private sendTo (socket: WebSocket, message: PublishedMessage): void {
    const frame = buildFrame(message.binary ? OPCODE_BINARY : OPCODE_TEXT, true, false, message.data)
    if (!sessionOf(socket).sendFrame(frame)) this.dropIfClosing(socket)
  }

  private settle (result: void | Promise<void> | undefined, msg: string): void {
    if (isPromiseLike(result)) result.then(undefined, err => this.log(err, msg))
  }
}

/** A client whose resume parameters were refused: everything before the topic's newest id is lost to it. */
function lostAll (r: ReplayResult): ReplayResult {
  return { last: r.last, gap: r.last, messages: [] }
}
