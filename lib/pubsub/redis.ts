// The Redis pub/sub adapter: processes (or machines) sharing one Redis share topics. Each process
// holds two connections: one publishes, one sits in subscriber mode with one channel per topic
// that has a local subscriber (channel = prefix + topic). Every process, the publisher included,
// delivers what its subscription receives; Topics leaves out the publishing socket.
//
// Delivery is Redis's: at most once. A process whose subscriber connection is down misses what is
// published meanwhile; after a reconnect it subscribes to every current topic again. Publishes
// made while the publishing connection is down wait in a queue bounded in bytes (oldest dropped,
// logged) and go out, in order, once it is back.
//
// A hostile or broken Redis (or anything on the path) is bounded: what one reply may hold (see
// RespLimits), the largest message kept (what a client can publish: the plugin's maxPayload and
// the envelope; larger ones are skipped unread), and how often we reconnect to a server that
// answers the setup and then fails (the backoff only starts over once a connection stayed up).
import type { PubSubAdapter, AdapterContext, DeliverFunction, PublishedMessage } from './adapter'
import { encodeCommand, RespError, RespSkipped, type RespLimits, type RespValue } from './resp'
import { envelopeHeader, openEnvelope } from './envelope'
import { RedisLink, type LinkEvents, type RedisTarget } from './redis-link'
import { messageBytesFor, replyBytesFor, resolveRedisOptions, type RedisAdapterLogger, type RedisAdapterOptions } from './redis-options'
import { wsError, WebSocketError } from '../errors'
import { backoffCeiling, backoffDelay, type BackoffPolicy } from '../backoff'
import { adapterUp, adapterDown, publish, type AdapterMessage } from '../diagnostics'

import { RedisClientAdapter, type RedisClientAdapterOptions, type RedisUrlAdapterOptions } from './redis-client'

export type { RedisAdapterLogger, RedisAdapterOptions } from './redis-options'

const PUBLISH = Buffer.from('PUBLISH')
const MESSAGE = Buffer.from('message')
const EMPTY = Buffer.alloc(0)
/** channels per SUBSCRIBE when subscribing again after a reconnect */
const RESUBSCRIBE_BATCH = 1000

export class RedisAdapter implements PubSubAdapter {
  private readonly target: RedisTarget
  private readonly prefix: string
  private readonly prefixBytes: Buffer
  /** doubling from minReconnectDelay to maxReconnectDelay, half of each wait random */
  private readonly backoff: BackoffPolicy
  private readonly maxQueueBytes: number
  /** set by the options, else at start() from the plugin's maxPayload */
  private maxMessageBytes: number
  private readonly fixedMessageBytes: boolean
  private readonly fixedReplyBytes: boolean
  /** what a reply may hold; the links read it at each connection */
  private readonly limits: RespLimits
  private readonly log: RedisAdapterLogger
  private readonly publisher: RedisLink
  private readonly subscriber: RedisLink
  private state: 'idle' | 'starting' | 'running' | 'closed' = 'idle'
  private deliver: DeliverFunction | null = null
  private starting: { resolve: () => void, reject: (err: Error) => void } | null = null
  /** topics with a local subscriber: subscribed now, and again after every reconnect */
  private readonly topics = new Set<string>()
  /** publishes waiting for the publisher connection, oldest first from `queueHead` */
  private queue: Buffer[] = []
  private queueHead = 0
  private queuedBytes = 0
  /** publishes dropped in the current outage (logged once it ends) */
  private dropped = 0
  private corked = false

  constructor (options: RedisAdapterOptions = {}) {
    const o = resolveRedisOptions(options)
    this.target = o.target
    this.prefix = o.prefix
    this.prefixBytes = Buffer.from(this.prefix)
    this.backoff = { minDelay: o.minReconnectDelay, maxDelay: o.maxReconnectDelay, factor: 2, jitter: 0.5 }
    this.maxQueueBytes = o.maxQueueBytes
    this.fixedMessageBytes = o.maxMessageBytes !== undefined
    this.fixedReplyBytes = o.maxReplyBytes !== undefined
    this.maxMessageBytes = o.maxMessageBytes ?? messageBytesFor()
    this.limits = {
      maxBulkLength: this.maxMessageBytes,
      maxReplyBytes: o.maxReplyBytes ?? replyBytesFor(this.maxMessageBytes),
      maxReplyElements: o.maxReplyElements,
      maxReplyDepth: o.maxReplyDepth
    }
    this.log = o.log
    // one handler object for both connections and every reconnect
    const events: LinkEvents = {
      ready: link => this.linkReady(link),
      down: (link, wasReady, err) => this.linkDown(link, wasReady, err),
      reply: (link, value) => this.linkReply(link, value)
    }
    this.publisher = new RedisLink('publisher', this.target, o.connectTimeout, o.backoffResetAfter, this.limits, events)
    this.subscriber = new RedisLink('subscriber', this.target, o.connectTimeout, o.backoffResetAfter, this.limits, events)
  }

  /** Both connections are up (false while reconnecting). */
  get connected (): boolean {
    return this.publisher.ready && this.subscriber.ready
  }

  /** Connect both; rejects with WS_ERR_REDIS_CONNECT (and closes the adapter) if either fails. */
  start (deliver: DeliverFunction, context?: AdapterContext): Promise<void> {
    if (this.state !== 'idle') return Promise.reject(wsError('WS_ERR_INVALID_OPTION', 'a redisAdapter can be started once'))
    if (!this.fixedMessageBytes && context !== undefined) {
      // a message is at most what a client may send (maxPayload) in its envelope
      this.maxMessageBytes = messageBytesFor(context.maxPayload)
      this.limits.maxBulkLength = this.maxMessageBytes
      if (!this.fixedReplyBytes) this.limits.maxReplyBytes = replyBytesFor(this.maxMessageBytes)
    }
    this.state = 'starting'
    this.deliver = deliver
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject }
      this.publisher.open()
      this.subscriber.open()
    })
  }

  publish (message: PublishedMessage): void | Promise<void> {
    if (this.state === 'closed') return Promise.reject(wsError('WS_ERR_CONNECTION_CLOSED', 'the redisAdapter is closed'))
    const header = envelopeHeader(message)
    if (header.length + message.data.length > this.maxMessageBytes) {
      // every subscriber would skip it: better not sent at all, and said here
      this.log.warn({
        err: wsError('WS_ERR_REDIS_MESSAGE_TOO_BIG', `${header.length + message.data.length} bytes`),
        topic: message.topic,
        maxMessageBytes: this.maxMessageBytes
      }, 'pub/sub message larger than maxMessageBytes not published')
      return
    }
    const command = encodeCommand([PUBLISH, this.prefix + message.topic, [header, message.data]])
    const socket = this.publisher.socket
    if (!this.publisher.ready || socket === null) {
      this.enqueue(command)
    } else if (socket.writableLength > 0 && socket.writableLength + command.length > this.maxQueueBytes) {
      // (with nothing waiting, a publish always goes: even one larger than the bound)
      this.noteDrop('Redis is not reading publishes fast enough; dropping publishes')
    } else {
      if (this.dropped > 0) this.logDrops() // a streak of drops just ended
      // everything published in one event-loop turn leaves in one write
      if (!this.corked) {
        this.corked = true
        socket.cork()
        process.nextTick(this.uncork)
      }
      socket.write(command)
    }
  }

  subscribe (topic: string): void {
    if (this.state === 'closed' || this.topics.has(topic)) return
    this.topics.add(topic)
    if (this.subscriber.ready) this.subscriber.write(encodeCommand(['SUBSCRIBE', this.prefix + topic]))
  }

  unsubscribe (topic: string): void {
    if (!this.topics.delete(topic)) return
    if (this.subscriber.ready) this.subscriber.write(encodeCommand(['UNSUBSCRIBE', this.prefix + topic]))
  }

  /** Close both connections (a ready publisher flushes first) and clear every timer. */
  async close (): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.starting?.reject(wsError('WS_ERR_CONNECTION_CLOSED', 'the redisAdapter was closed while connecting'))
    this.starting = null
    this.deliver = null
    this.topics.clear()
    this.dropped += this.queue.length - this.queueHead
    this.clearQueue()
    if (this.dropped > 0) this.log.warn({ dropped: this.dropped }, 'redisAdapter closed with publishes never sent to Redis')
    this.dropped = 0
    await Promise.all([this.publisher.close(), this.subscriber.close()])
  }

  /** A connection answered its setup. */
  private linkReady (link: RedisLink): void {
    if (this.state === 'closed') return
    publish<AdapterMessage>(adapterUp, { adapter: 'redis', role: link.role })
    if (link.role === 'subscriber') this.subscribeAll()
    else this.flushQueue()
    if (this.state === 'starting') {
      if (!this.connected) return
      this.state = 'running'
      this.starting!.resolve()
      this.starting = null
    } else {
      this.log.info({ role: link.role }, 'Redis connection restored')
    }
  }

  /** A connection closed, or an attempt failed: reconnect with bounded, jittered backoff. */
  private linkDown (link: RedisLink, wasReady: boolean, err: Error): void {
    if (link.role === 'publisher') this.corked = false
    if (this.state === 'closed') return
    if (this.state === 'starting') {
      const cause = err instanceof WebSocketError && err.code === 'WS_ERR_REDIS_CONNECT'
        ? err
        : wsError('WS_ERR_REDIS_CONNECT', `${this.target.host}:${this.target.port}: ${err.message}`, err)
      const { reject } = this.starting!
      this.starting = null
      this.close().then(() => reject(cause), reject)
      return
    }
    if (wasReady) publish<AdapterMessage>(adapterDown, { adapter: 'redis', role: link.role, error: err })
    link.failures++
    // jitter spreads the reconnects of many processes after a Redis restart
    const base = backoffCeiling(link.failures, this.backoff)
    const delay = backoffDelay(link.failures, this.backoff)
    this.log.warn({ err, role: link.role, attempt: link.failures, backoff: base, delay },
      wasReady ? 'Redis connection lost; reconnecting' : 'Redis reconnect failed; retrying')
    link.retryIn(delay)
  }

  /** A reply after the setup. */
  private linkReply (link: RedisLink, value: RespValue): void {
    if (value instanceof RespError) {
      this.log.error({ err: wsError('WS_ERR_REDIS_REPLY', value.message), role: link.role }, 'Redis refused a command')
      return
    }
    // the subscriber gets ["message", channel, payload] and confirmations, which need nothing
    if (link.role === 'subscriber' && Array.isArray(value) && value.length === 3 && Buffer.isBuffer(value[0]) && value[0].equals(MESSAGE)) {
      this.onMessage(value[1], value[2])
    }
  }

  private onMessage (channel: RespValue, payload: RespValue): void {
    if (payload instanceof RespSkipped) {
      this.log.warn({ err: wsError('WS_ERR_REDIS_MESSAGE_TOO_BIG', `${payload.length} bytes`), maxMessageBytes: this.maxMessageBytes },
        'pub/sub message from Redis larger than maxMessageBytes skipped')
      return
    }
    const ours = Buffer.isBuffer(channel) && channel.length >= this.prefixBytes.length &&
      this.prefixBytes.compare(channel, 0, this.prefixBytes.length) === 0
    const message = ours && Buffer.isBuffer(payload)
      ? openEnvelope(channel.toString('utf8', this.prefixBytes.length), payload)
      : null
    if (message === null) {
      this.log.warn({ channel: Buffer.isBuffer(channel) ? channel.toString() : channel }, 'malformed pub/sub message from Redis ignored')
      return
    }
    try {
      this.deliver?.(message)
    } catch (err) {
      this.log.error({ err }, 'pub/sub delivery failed')
    }
  }

  private readonly uncork = (): void => {
    this.corked = false
    this.publisher.socket?.uncork()
  }

  private subscribeAll (): void {
    const channels = [...this.topics].map(topic => this.prefix + topic)
    for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH) {
      this.subscriber.write(encodeCommand(['SUBSCRIBE', ...channels.slice(i, i + RESUBSCRIBE_BATCH)]))
    }
  }

  private enqueue (command: Buffer): void {
    if (command.length > this.maxQueueBytes) {
      this.noteDrop('Redis unreachable and the publish is larger than maxQueueBytes; dropping it')
      return
    }
    this.queue.push(command)
    this.queuedBytes += command.length
    while (this.queuedBytes > this.maxQueueBytes) {
      this.queuedBytes -= this.queue[this.queueHead].length
      this.queue[this.queueHead++] = EMPTY
      this.noteDrop('Redis unreachable and the publish queue is full; dropping the oldest publishes')
    }
    // drop the dead head once it is most of the array
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
  }

  private flushQueue (): void {
    if (this.queuedBytes > 0) {
      const socket = this.publisher.socket!
      socket.cork()
      for (let i = this.queueHead; i < this.queue.length; i++) socket.write(this.queue[i])
      socket.uncork()
    }
    this.clearQueue()
    if (this.dropped > 0) this.logDrops()
  }

  private logDrops (): void {
    this.log.warn({ dropped: this.dropped }, 'publishes dropped while Redis was unreachable or slow')
    this.dropped = 0
  }

  private clearQueue (): void {
    this.queue = []
    this.queueHead = 0
    this.queuedBytes = 0
  }

  /** Count a dropped publish; log the first of an outage (the count is logged when it ends). */
  private noteDrop (msg: string): void {
    if (this.dropped++ === 0) this.log.warn({ maxQueueBytes: this.maxQueueBytes }, msg)
  }
}

/**
 * A pub/sub adapter over Redis: `redisAdapter({ publisher, subscriber })` on your own ioredis or
 * node-redis clients (resumable topics with `resume`); `redisAdapter({ url, client: 'ioredis' })`
 * makes those two from the optional peer dependency; `redisAdapter({ url })` runs on the built-in
 * client (every reply bounded, no TLS, no resume).
 */
export function redisAdapter (options: RedisClientAdapterOptions | RedisUrlAdapterOptions): RedisClientAdapter
export function redisAdapter (options?: RedisAdapterOptions): RedisAdapter
export function redisAdapter (options: RedisAdapterOptions | RedisClientAdapterOptions | RedisUrlAdapterOptions = {}): RedisAdapter | RedisClientAdapter {
  if ('publisher' in options || 'subscriber' in options || 'client' in options) return new RedisClientAdapter(options as RedisClientAdapterOptions)
  return new RedisAdapter(options as RedisAdapterOptions)
}
