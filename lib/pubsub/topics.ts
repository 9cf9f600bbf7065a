// Topics: the local subscriber registry and fan-out. A message published to N subscribers is
// framed once, then queued N times (each socket's backpressure policy applies to it alone).
import { randomUUID } from 'node:crypto'
import { buildFrame } from '../engine/serializer'
import { OPCODE_BINARY, OPCODE_TEXT, OPEN } from '../engine/constants'
import type { WebSocket } from '../socket'
import type { PubSubAdapter, PublishedMessage } from './adapter'

export interface PublishOptions {
  /** send as binary; default: false for strings, true for buffers */
  binary?: boolean
}

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

  start (): void | Promise<void> {
    return this.adapter.start(message => this.deliver(message))
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
    ;(socket._topics ??= new Set()).add(topic)
    return true
  }

  unsubscribe (socket: WebSocket, topic: string): boolean {
    const set = this.topics.get(topic)
    if (set === undefined || !set.delete(socket)) return false
    socket._topics?.delete(topic)
    if (set.size === 0) {
      this.topics.delete(topic)
      this.settle(this.adapter.unsubscribe?.(topic), 'pub/sub adapter unsubscribe failed')
    }
    return true
  }

  /** Closing a socket unsubscribes it from everything. */
  unsubscribeAll (socket: WebSocket): void {
    const topics = socket._topics
    if (topics === null) return
    for (const topic of [...topics]) this.unsubscribe(socket, topic)
    socket._topics = null
  }

  subscribers (topic: string): ReadonlySet<WebSocket> {
    return this.topics.get(topic) ?? NO_SUBSCRIBERS
  }

  /** Publish to every subscriber of `topic` (but `except`, when a socket publishes). */
  publish (topic: string, data: Buffer, binary: boolean, except: WebSocket | null): void {
    this.settle(this.adapter.publish({ topic, data, binary, origin: this.origin, exceptSocket: except?.id ?? null }),
      'pub/sub adapter publish failed')
  }

  /** Fan a message out to the local subscribers: framed once, queued on each. */
  deliver (message: PublishedMessage): void {
    const set = this.topics.get(message.topic)
    if (set === undefined) return
    const frame = buildFrame(message.binary ? OPCODE_BINARY : OPCODE_TEXT, true, false, message.data)
    const except = message.origin === this.origin ? message.exceptSocket : null
    for (const socket of set) {
      if (except !== null && socket.id === except) continue
      socket._sendFrame(frame)
    }
  }

  private settle (result: void | Promise<void> | undefined, msg: string): void {
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, err => this.log(err, msg))
    }
  }
}
