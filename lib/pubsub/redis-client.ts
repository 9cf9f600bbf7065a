// The Redis adapter on the user's own clients (ioredis or node-redis): one publishes and runs the
// scripts, one subscribes. Topics are shared through Redis pub/sub as with the built-in client;
// resumable topics add a Redis Stream per topic (redis-scripts.ts), so the replay window survives
// a process restart and is the same for every process.
//
// Pub/sub alone loses what is published while a process's subscriber connection is down. For
// resumable topics this process remembers the last id it delivered per topic; when the
// subscriber is ready again it subscribes, reads the stream from that id and delivers what it
// missed, in order, before the live messages that came meanwhile (dropping those it already
// delivered). Its sockets see one ordered stream per topic, without holes, or a gap.
import type { PubSubAdapter, AdapterContext, DeliverFunction, PublishedMessage } from './adapter'
import { envelopeHeader, openEnvelope, openResumableEnvelope } from './envelope'
import { redisDriver, type RedisClient, type RedisDriver } from './redis-driver'
import { PUBLISH_SCRIPT, REPLAY_SCRIPT } from './redis-scripts'
import { compareIds, type ReplayResult, type ResumeOptions } from './resume'
import { resolveResume, type ResolvedResume } from './replay-window'
import { messageBytesFor, type RedisAdapterLogger } from './redis-options'
import { integerIn } from '../engine/option-checks'
import { wsError } from '../errors'

export interface RedisClientAdapterOptions {
  /** a connected ioredis or node-redis client: publishes and runs the scripts */
  publisher: RedisClient
  /** another connection of the same kind, for SUBSCRIBE (`publisher.duplicate()`) */
  subscriber: RedisClient
  /**
   * prepended to every topic's channel `<prefix><topic>` and keys `<prefix>s:{<topic>}` (its
   * stream) and `<prefix>p:{<topic>}` (default 'fastify-rfc6455:')
   */
  channelPrefix?: string
  /**
   * make topics resumable, their window in Redis Streams: `true`, or options (`topics`,
   * `maxMessages` 1000, `maxAge` 300000 ms, `maxResumeTopics` 100; `maxBytes` and `maxTopics`
   * do not apply: Redis holds the window)
   */
  resume?: boolean | ResumeOptions
  /** ms a topic's stream lives after its last publish or replay (default 86400000: a day) */
  streamTtl?: number
  /** where failures and skipped messages are logged (default: process warnings) */
  logger?: RedisAdapterLogger
}

/** `redisAdapter({ url, client: 'ioredis' })`: the two connections made from the optional peer dependency. */
export interface RedisUrlAdapterOptions extends Omit<RedisClientAdapterOptions, 'publisher' | 'subscriber'> {
  /** `redis://` or `rediss://` (TLS) URL, as the client library reads it */
  url: string
  /** the library to connect with: `ioredis` or `redis` (node-redis), installed beside this package */
  client: 'ioredis' | 'redis'
}

interface TopicState {
  channel: string
  /** the SUBSCRIBE (then, if resumable, the newest id) is done */
  ready: Promise<void>
  /** newest id delivered here (resumable topics) */
  last: string | null
  /** live messages held while this process catches up after a reconnect */
  catching: PublishedMessage[] | null
  /** more came in while catching up than it holds: read the stream again */
  again: boolean
  /** the subscriber was ready again during a catch-up (it dropped once more): catch up again after */
  rerun: boolean
}

/** a catch-up read that fails is tried again this often, this many times (5 s in all) */
const CATCH_UP_RETRY_MS = 100
const CATCH_UP_ATTEMPTS = 50

const warn: RedisAdapterLogger = {
  info () {},
  warn (_obj, msg) { process.emitWarning(msg, 'RedisAdapterWarning') },
  error (_obj, msg) { process.emitWarning(msg, 'RedisAdapterWarning') }
}

export class RedisClientAdapter implements PubSubAdapter {
  private readonly driver: RedisDriver
  private readonly prefix: string
  private readonly resume: ResolvedResume | null
  private readonly ttl: string
  private readonly log: RedisAdapterLogger
  private readonly topics = new Map<string, TopicState>()
  private deliver: DeliverFunction | null = null
  private maxMessageBytes = messageBytesFor()
  /** this process's publishes, numbered: a publish resent after a reconnect is recognised */
  private sequence = 0
  readonly maxResumeTopics: number | undefined

  /** connections this adapter made (the url form): opened at start, closed at close */
  private readonly owned: OwnedClients | null

  constructor (options: RedisClientAdapterOptions | RedisUrlAdapterOptions) {
    if ('url' in options && 'client' in options) {
      this.owned = makeClients(options.url, options.client)
      this.driver = redisDriver(this.owned.publisher, this.owned.subscriber)
    } else {
      this.owned = null
      const o = options as RedisClientAdapterOptions
      this.driver = redisDriver(o.publisher, o.subscriber)
    }
    this.prefix = options.channelPrefix ?? 'fastify-rfc6455:'
    const resume = options.resume === true ? {} : options.resume
    this.resume = resume === undefined || resume === false ? null : resolveResume('redisAdapter', resume)
    this.maxResumeTopics = this.resume?.maxResumeTopics
    this.ttl = String(integerIn('redisAdapter.streamTtl', options.streamTtl, 1, Number.MAX_SAFE_INTEGER, 86_400_000))
    this.log = options.logger ?? warn
  }

  async start (deliver: DeliverFunction, context?: AdapterContext): Promise<void> {
    this.deliver = deliver
    if (context !== undefined) this.maxMessageBytes = messageBytesFor(context.maxPayload) + 2 + 63
    this.driver.onMessage((channel, payload) => this.onMessage(channel, payload))
    this.driver.onReady(() => this.onReady())
    await this.owned?.open()
  }

  async publish (message: PublishedMessage): Promise<void> {
    const envelope = Buffer.concat([envelopeHeader(message), message.data])
    const channel = this.prefix + message.topic
    if (!this.resumable(message.topic)) {
      await this.driver.publish(channel, envelope)
      return
    }
    const r = this.resume!
    await this.driver.runInOrder(PUBLISH_SCRIPT, this.keys(message.topic),
      [channel, String(r.maxMessages), String(Math.ceil(r.maxAge)), this.ttl, envelope, message.origin, String(++this.sequence)])
  }

  subscribe (topic: string): Promise<void> {
    const channel = this.prefix + topic
    const state: TopicState = { channel, ready: Promise.resolve(), last: null, catching: null, again: false, rerun: false }
    state.ready = this.driver.subscribe(channel).then(async () => {
      if (!this.resumable(topic)) return
      // where this process starts: anything newer comes live (the subscription is confirmed)
      const { last } = await this.read(topic, null)
      if (state.last === null || compareIds(last, state.last) > 0) state.last = last
    })
    this.topics.set(topic, state)
    return state.ready
  }

  async unsubscribe (topic: string): Promise<void> {
    const state = this.topics.get(topic)
    if (state === undefined) return
    this.topics.delete(topic)
    await this.driver.unsubscribe(state.channel)
  }

  resumable (topic: string): boolean {
    return this.resume?.topics(topic) ?? false
  }

  async replay (topic: string, after: string | null): Promise<ReplayResult> {
    // the subscription first: whatever the replay does not hold then comes live
    await this.topics.get(topic)?.ready
    return this.read(topic, after)
  }

  async close (): Promise<void> {
    // clients passed in are the user's: they close them (this adapter's listeners are removed)
    this.deliver = null
    this.driver.detach()
    // not waited for: a Redis that is away (the client's commands queued) must not hold close()
    for (const state of this.topics.values()) this.driver.unsubscribe(state.channel).catch(() => {})
    this.topics.clear()
    await this.owned?.close()
  }

  /**
   * The topic's stream and its publishers' hash: apart from the channels and from each other's
   * names whatever the topic, and in one Cluster slot (the topic as their hash tag).
   */
  private keys (topic: string): [string, string] {
    return [`${this.prefix}s:{${topic}}`, `${this.prefix}p:{${topic}}`]
  }

  private async read (topic: string, after: string | null): Promise<ReplayResult> {
    const r = this.resume!
    const reply = await this.driver.run(REPLAY_SCRIPT, this.keys(topic).slice(0, 1), [after ?? '', String(r.maxMessages), this.ttl, String(Math.ceil(r.maxAge))])
    if (!Array.isArray(reply) || reply.length < 2 || reply.length % 2 !== 0) throw new Error('unexpected replay reply from Redis')
    const messages: Array<{ id: string, data: Buffer, binary: boolean }> = []
    for (let i = 2; i < reply.length; i += 2) {
      const m = openEnvelope(topic, toBuffer(reply[i + 1]))
      if (m === null) continue
      messages.push({ id: String(reply[i]), data: m.data, binary: m.binary })
    }
    const gap = String(reply[1])
    return { last: String(reply[0]), gap: gap === '' ? null : gap, messages }
  }

  private onMessage (channel: Buffer, payload: Buffer): void {
    if (this.deliver === null || payload.length > this.maxMessageBytes) return
    const name = channel.toString()
    if (!name.startsWith(this.prefix)) return
    const topic = name.slice(this.prefix.length)
    const message = payload[0] === 2 ? openResumableEnvelope(topic, payload) : openEnvelope(topic, payload)
    if (message === null) {
      this.log.warn({ channel: name }, 'malformed pub/sub message from Redis ignored')
      return
    }
    const state = this.topics.get(topic)
    if (message.id === undefined || state === undefined) {
      this.deliver(message)
      return
    }
    if (state.catching !== null) {
      // held for after the catch-up; beyond a window's worth, read the stream again instead
      if (state.catching.length < this.resume!.maxMessages) state.catching.push(message)
      else state.again = true
      return
    }
    this.deliverNew(state, message)
  }

  /** Deliver `message` unless this process delivered it (or a newer one) already. */
  private deliverNew (state: TopicState, message: PublishedMessage): void {
    if (state.last !== null && compareIds(message.id!, state.last) <= 0) return
    state.last = message.id!
    this.deliver?.(message)
  }

  /**
   * The subscriber connection is ready (again): catch up every resumable topic this process has
   * delivered from. Not only after a first 'ready': clients passed in may be connected already.
   * A topic not yet started has no id to catch up from; a catch-up with nothing missed is harmless.
   */
  private onReady (): void {
    for (const [topic, state] of this.topics) {
      if (state.last === null) continue
      if (state.catching !== null) state.rerun = true
      else this.startCatchUp(topic, state)
    }
  }

  private startCatchUp (topic: string, state: TopicState): void {
    this.catchUp(topic, state).catch(err => this.log.error({ err, topic }, 'pub/sub catch-up after a Redis reconnect failed'))
  }

  private async catchUp (topic: string, state: TopicState): Promise<void> {
    state.catching = []
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.driver.subscribe(state.channel) // confirmed before reading: nothing falls between
          await this.catchUpOnce(topic, state)
          return
        } catch (err) {
          // a client that fails commands in flight when its connection drops (node-redis) may
          // fail this read on a publisher connection not yet back: try again, a while
          if (attempt >= CATCH_UP_ATTEMPTS || this.topics.get(topic) !== state) throw err
          await new Promise(resolve => setTimeout(resolve, CATCH_UP_RETRY_MS))
        }
      }
    } finally {
      const held = state.catching
      state.catching = null
      for (const m of held) this.deliverNew(state, m)
      if (state.rerun && this.topics.get(topic) === state) {
        state.rerun = false
        this.startCatchUp(topic, state)
      }
    }
  }

  private async catchUpOnce (topic: string, state: TopicState): Promise<void> {
    do {
      state.again = false
      const r = await this.read(topic, state.last)
      if (r.gap !== null && this.deliver !== null) {
        this.log.warn({ topic, gap: r.gap }, 'pub/sub messages lost while Redis was unreachable')
        this.deliver({ topic, data: Buffer.alloc(0), binary: false, origin: '', exceptSocket: null, id: r.gap, gap: true })
        state.last = r.gap
      }
      for (const m of r.messages) this.deliverNew(state, { topic, data: m.data, binary: m.binary, origin: '', exceptSocket: null, id: m.id })
    } while (state.again)
  }
}

interface OwnedClients {
  publisher: RedisClient
  subscriber: RedisClient
  open (): Promise<void>
  close (): Promise<void>
}

type Closer = { quit?: () => Promise<unknown>, close?: () => Promise<unknown>, disconnect?: () => unknown }

/** Two connections from the optional peer dependency `library`. */
function makeClients (url: string, library: 'ioredis' | 'redis'): OwnedClients {
  let mod: unknown
  try {
    mod = require(library)
  } catch (err) {
    throw wsError('WS_ERR_INVALID_OPTION', `redisAdapter({ client: '${library}' }) needs the package ${library}: npm install ${library}`, err)
  }
  const end = async (c: RedisClient): Promise<void> => {
    const x = c as unknown as Closer
    if (typeof x.quit === 'function') await x.quit().catch(() => x.disconnect?.())
    else await x.close?.()
  }
  if (library === 'ioredis') {
    const Redis = ((mod as { default?: unknown }).default ?? mod) as new (url: string, o: object) => RedisClient
    // publishes wait for a reconnect rather than fail (ioredis's offline queue, unbounded: see README)
    const o = { maxRetriesPerRequest: null, lazyConnect: true }
    const publisher = new Redis(url, o)
    const subscriber = new Redis(url, o)
    const connect = (c: RedisClient): Promise<unknown> => (c as unknown as { connect: () => Promise<unknown> }).connect()
    return { publisher, subscriber, open: async () => { await Promise.all([connect(publisher), connect(subscriber)]) }, close: async () => { await Promise.all([end(publisher), end(subscriber)]) } }
  }
  const createClient = (mod as { createClient: (o: object) => RedisClient & { duplicate: () => RedisClient, connect: () => Promise<unknown> } }).createClient
  const publisher = createClient({ url })
  const subscriber = publisher.duplicate() as RedisClient & { connect: () => Promise<unknown> }
  return { publisher, subscriber, open: async () => { await Promise.all([publisher.connect(), subscriber.connect()]) }, close: async () => { await Promise.all([end(publisher), end(subscriber)]) } }
}

function toBuffer (v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v))
}
