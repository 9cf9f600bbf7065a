// What the Redis Streams adapter needs of the user's own Redis clients, for ioredis and
// node-redis alike: run a Lua script (EVALSHA, EVAL once Redis says NOSCRIPT) with Buffer
// replies, PUBLISH, SUBSCRIBE/UNSUBSCRIBE with Buffer messages, and a signal when a connection
// is (again) ready. The clients stay the user's: their connection, TLS, Cluster, Sentinel and
// retry settings apply as set up; the adapter never closes them.
import { createHash } from 'node:crypto'
import { wsError } from '../errors'

/** An ioredis client (`new Redis(...)`), as far as the adapter uses it. */
export interface IoRedisClient {
  callBuffer: (...args: never[]) => unknown
  publish: (...args: never[]) => unknown
  on: (...args: never[]) => unknown
}

/** A node-redis client (`createClient(...)`, connected by you), as far as the adapter uses it. */
export interface NodeRedisClient {
  sendCommand: (...args: never[]) => unknown
  isOpen: boolean
  on: (...args: never[]) => unknown
}

export type RedisClient = IoRedisClient | NodeRedisClient

export interface Script {
  lua: string
  sha: string
}

export function script (lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') }
}

export interface RedisDriver {
  /** `keys` then `args`; bulk strings come back as Buffers (EVALSHA, then EVAL on NOSCRIPT) */
  run (s: Script, keys: string[], args: Array<string | Buffer>): Promise<unknown>
  /**
   * EVAL, always: scripts whose order matters. After a Redis restart every EVALSHA fails with
   * NOSCRIPT; falling back one by one would let a later one (sent once the script is loaded
   * again) run before an earlier one's EVAL.
   */
  runInOrder (s: Script, keys: string[], args: Array<string | Buffer>): Promise<unknown>
  publish (channel: string, payload: Buffer): Promise<unknown>
  subscribe (channel: string): Promise<unknown>
  unsubscribe (channel: string): Promise<unknown>
  /** every message of every channel subscribed to */
  onMessage (fn: (channel: Buffer, payload: Buffer) => void): void
  /** the connection is ready (again, after a reconnect) */
  onReady (fn: () => void): void
  /** remove what onMessage and onReady added: the clients outlive the adapter */
  detach (): void
}

type Call = (...args: unknown[]) => Promise<unknown>
type On = (event: string, fn: (...args: never[]) => void) => unknown

/** Listeners added to a client, to be removed at detach(). */
function listeners (client: object): { on: (event: string, fn: (...args: never[]) => void) => void, detach: () => void } {
  const c = client as { on: On, removeListener?: On, off?: On }
  const added: Array<[string, (...args: never[]) => void]> = []
  return {
    on (event, fn) {
      c.on.call(client, event, fn)
      added.push([event, fn])
    },
    detach () {
      const remove = c.removeListener ?? c.off
      for (const [event, fn] of added.splice(0)) remove?.call(client, event, fn)
    }
  }
}

/** RESP2 and RESP3 bulk and simple strings as Buffers (node-redis's type mapping: '$' and '+') */
const BUFFERS = { typeMapping: { 36: Buffer, 43: Buffer } }

function isNoScript (err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}

/** A driver over `publisher` (commands) and `subscriber` (a connection in subscriber mode). */
export function redisDriver (publisher: RedisClient, subscriber: RedisClient): RedisDriver {
  if (publisher === subscriber) throw wsError('WS_ERR_INVALID_OPTION', 'redisAdapter: publisher and subscriber must be two connections (a subscribed connection runs no other command)')
  if (isIo(publisher) && isIo(subscriber)) return ioDriver(publisher, subscriber)
  if (isNode(publisher) && isNode(subscriber)) return nodeDriver(publisher, subscriber)
  throw wsError('WS_ERR_INVALID_OPTION', 'redisAdapter: publisher and subscriber must both be ioredis or both node-redis clients')
}

function isIo (c: unknown): c is IoRedisClient {
  return typeof c === 'object' && c !== null && typeof (c as IoRedisClient).callBuffer === 'function'
}

function isNode (c: unknown): c is NodeRedisClient {
  return typeof c === 'object' && c !== null && typeof (c as NodeRedisClient).sendCommand === 'function' && 'isOpen' in c
}

function ioDriver (pub: IoRedisClient, sub: IoRedisClient): RedisDriver {
  const call = (pub.callBuffer as unknown as Call).bind(pub)
  const subCall = sub as unknown as { subscribe: Call, unsubscribe: Call }
  const l = listeners(sub)
  return {
    async run (s, keys, args) {
      try {
        return await call('EVALSHA', s.sha, keys.length, ...keys, ...args)
      } catch (err) {
        if (!isNoScript(err)) throw err
        return await call('EVAL', s.lua, keys.length, ...keys, ...args)
      }
    },
    runInOrder: (s, keys, args) => call('EVAL', s.lua, keys.length, ...keys, ...args),
    publish: (channel, payload) => call('PUBLISH', channel, payload),
    subscribe: channel => subCall.subscribe.call(sub, channel),
    unsubscribe: channel => subCall.unsubscribe.call(sub, channel),
    onMessage (fn) { l.on('messageBuffer', fn) },
    onReady (fn) { l.on('ready', fn) },
    detach: l.detach
  }
}

function nodeDriver (pub: NodeRedisClient, sub: NodeRedisClient): RedisDriver {
  const send = (pub.sendCommand as unknown as (args: Array<string | Buffer>, o: object) => Promise<unknown>).bind(pub)
  const s = sub as unknown as {
    subscribe: (ch: string, fn: (message: Buffer, channel: Buffer) => void, buffers: true) => Promise<unknown>
    unsubscribe: (ch: string, fn: (message: Buffer, channel: Buffer) => void, buffers: true) => Promise<unknown>
  }
  const l = listeners(sub)
  let deliver: (channel: Buffer, payload: Buffer) => void = () => {}
  const listener = (message: Buffer, channel: Buffer): void => deliver(channel, message)
  return {
    async run (script, keys, args) {
      try {
        return await send(['EVALSHA', script.sha, String(keys.length), ...keys, ...args], BUFFERS)
      } catch (err) {
        if (!isNoScript(err)) throw err
        return await send(['EVAL', script.lua, String(keys.length), ...keys, ...args], BUFFERS)
      }
    },
    runInOrder: (script, keys, args) => send(['EVAL', script.lua, String(keys.length), ...keys, ...args], BUFFERS),
    publish: (channel, payload) => send(['PUBLISH', channel, payload], BUFFERS),
    subscribe: channel => s.subscribe.call(sub, channel, listener, true),
    unsubscribe: channel => s.unsubscribe.call(sub, channel, listener, true),
    onMessage (fn) { deliver = fn },
    onReady (fn) { l.on('ready', fn) },
    detach () {
      deliver = () => {}
      l.detach()
    }
  }
}
