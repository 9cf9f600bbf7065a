// The redisAdapter options: their types, defaults and checks, in one place.
import { integerIn, numberIn } from '../engine/option-checks'
import { DEFAULT_MAX_PAYLOAD } from '../engine/constants'
import { MAX_ENVELOPE_HEADER } from './envelope'
import { parseRedisUrl, type RedisTarget } from './redis-link'

/** What the adapter logs: a pino logger (`app.log`) fits. */
export interface RedisAdapterLogger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export interface RedisAdapterOptions {
  /** `redis://[[user]:password@]host[:port][/db]` (default redis://127.0.0.1:6379) */
  url?: string
  /** prepended to every topic to make its channel (default 'fastify-rfc6455:') */
  channelPrefix?: string
  /** ms for one connection attempt, TCP and AUTH/SELECT/PING included (default 10000) */
  connectTimeout?: number
  /** first delay before reconnecting, ms; doubled per failed attempt (default 100) */
  minReconnectDelay?: number
  /** longest delay between reconnect attempts, ms (default 5000) */
  maxReconnectDelay?: number
  /**
   * ms a connection must stay up before the reconnect delay starts over from minReconnectDelay
   * (default 10000): a server that answers the setup and then fails is retried ever more slowly
   */
  backoffResetAfter?: number
  /**
   * Largest pub/sub message, envelope included, in bytes (default: the plugin's maxPayload plus
   * 514 bytes of envelope). Larger publishes are not sent; larger messages from Redis are read
   * and dropped as they arrive, never held (WS_ERR_REDIS_MESSAGE_TOO_BIG, logged).
   */
  maxMessageBytes?: number
  /** most array elements in one Redis reply, nested ones included (default 1024; ours hold 3) */
  maxReplyElements?: number
  /** deepest array nesting in one Redis reply (default 4; ours are 1 deep) */
  maxReplyDepth?: number
  /** most bytes one Redis reply may hold (default 2 x maxMessageBytes + 64 KiB) */
  maxReplyBytes?: number
  /**
   * Bytes of publishes held for Redis (default 16 MiB): waiting for a reconnect (beyond it the
   * oldest are dropped) or unsent on a connection Redis does not read fast enough (beyond it new
   * ones are dropped). A streak of drops is logged when it starts and, with its count, when it ends.
   */
  maxQueueBytes?: number
  /** where connection changes, drops and malformed messages are logged (default: process warnings) */
  logger?: RedisAdapterLogger
}

/** The options with their defaults, checked. */
export interface ResolvedRedisOptions {
  target: RedisTarget
  prefix: string
  connectTimeout: number
  minReconnectDelay: number
  maxReconnectDelay: number
  backoffResetAfter: number
  maxQueueBytes: number
  /** undefined: from the plugin's maxPayload at start() */
  maxMessageBytes: number | undefined
  /** undefined: from maxMessageBytes */
  maxReplyBytes: number | undefined
  maxReplyElements: number | undefined
  maxReplyDepth: number | undefined
  log: RedisAdapterLogger
}

const MAX = Number.MAX_SAFE_INTEGER

export function resolveRedisOptions (options: RedisAdapterOptions): ResolvedRedisOptions {
  const minReconnectDelay = numberIn('redisAdapter.minReconnectDelay', options.minReconnectDelay, 0, Infinity, 100)
  return {
    target: parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379'),
    prefix: options.channelPrefix ?? 'fastify-rfc6455:',
    connectTimeout: numberIn('redisAdapter.connectTimeout', options.connectTimeout, 0, Infinity, 10_000),
    minReconnectDelay,
    maxReconnectDelay: Math.max(minReconnectDelay, numberIn('redisAdapter.maxReconnectDelay', options.maxReconnectDelay, 0, Infinity, 5000)),
    backoffResetAfter: numberIn('redisAdapter.backoffResetAfter', options.backoffResetAfter, 0, Infinity, 10_000),
    maxQueueBytes: numberIn('redisAdapter.maxQueueBytes', options.maxQueueBytes, 0, Infinity, 16 * 1024 * 1024),
    maxMessageBytes: integerIn('redisAdapter.maxMessageBytes', options.maxMessageBytes, 1, MAX, undefined),
    maxReplyBytes: integerIn('redisAdapter.maxReplyBytes', options.maxReplyBytes, 1, MAX, undefined),
    maxReplyElements: integerIn('redisAdapter.maxReplyElements', options.maxReplyElements, 1, MAX, undefined),
    maxReplyDepth: integerIn('redisAdapter.maxReplyDepth', options.maxReplyDepth, 1, MAX, undefined),
    log: options.logger ?? warningLogger
  }
}

/** The largest message when no option sets it: a message of `maxPayload` bytes in its envelope. */
export function messageBytesFor (maxPayload = DEFAULT_MAX_PAYLOAD): number {
  return maxPayload + MAX_ENVELOPE_HEADER
}

const warningLogger: RedisAdapterLogger = {
  info () {},
  warn (obj, msg) { emitWarning(obj, msg) },
  error (obj, msg) { emitWarning(obj, msg) }
}

function emitWarning (obj: object, msg: string): void {
  const err = (obj as { err?: unknown }).err
  process.emitWarning(err instanceof Error ? `${msg}: ${err.message}` : msg, 'RedisAdapterWarning')
}

/** Two messages' worth (a channel and a payload) and room for the rest of the reply. */
export function replyBytesFor (maxMessageBytes: number): number {
  return 2 * maxMessageBytes + 64 * 1024
}
