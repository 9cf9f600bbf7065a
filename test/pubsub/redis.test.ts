// The Redis adapter against a real redis-server (started here on free 127.0.0.1 ports, killed at
// the end): two Fastify apps sharing topics, unsubscribe, a Redis restart, publishes queued while
// Redis is unreachable (through a TCP proxy the test cuts), refused and silent servers, and a
// close() that leaves nothing behind.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { isDeepStrictEqual } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket, { redisAdapter, type RedisAdapter, type RedisAdapterOptions } from '../../lib/index'
import { pubsubHarness, type Peer } from '../helpers/pubsub'
import { PASSWORD, waitFor, freePort, redisCommand, subscriberCount, startRedis, redisServerMissing } from '../helpers/redis'

interface LogEntry { level: string, obj: Record<string, unknown>, msg: string }

function captureLogger (): { entries: LogEntry[], logger: NonNullable<RedisAdapterOptions['logger']> } {
  const entries: LogEntry[] = []
  const add = (level: string) => (obj: object, msg: string) => { entries.push({ level, obj: obj as Record<string, unknown>, msg }) }
  return { entries, logger: { info: add('info'), warn: add('warn'), error: add('error') } }
}

/** Poll `check` every 10 ms until it holds; fail with `what` after `ms`. */
/** A TCP proxy to Redis the test can cut: 'forward', 'refuse' (accept then drop) or 'silent' (never answer). */
async function startProxy (t: Test, targetPort: number): Promise<{ url: string, mode (m: 'forward' | 'refuse' | 'silent'): void }> {
  let mode: 'forward' | 'refuse' | 'silent' = 'forward'
  const open = new Set<Socket>()
  const server: Server = createServer(client => {
    open.add(client)
    client.on('close', () => open.delete(client))
    client.on('error', () => {})
    if (mode === 'refuse') client.destroy()
    if (mode !== 'forward') return
    const upstream = netConnect({ host: '127.0.0.1', port: targetPort })
    open.add(upstream)
    upstream.on('close', () => { open.delete(upstream); client.destroy() })
    upstream.on('error', () => {})
    client.on('close', () => upstream.destroy())
    client.pipe(upstream).pipe(client)
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const s of open) s.destroy()
    server.close()
  })
  const { port } = server.address() as { port: number }
  return {
    url: `redis://:${PASSWORD}@127.0.0.1:${port}`,
    mode (m) {
      mode = m
      if (m !== 'forward') for (const s of open) s.destroy()
    }
  }
}

interface App { app: FastifyInstance, adapter: RedisAdapter, connect (): Promise<Peer> }

async function startApp (t: Test, options: RedisAdapterOptions): Promise<App> {
  const adapter = redisAdapter({ minReconnectDelay: 20, maxReconnectDelay: 200, ...options })
  return { ...await pubsubHarness(t, { pubsub: adapter }), adapter }
}

if (redisServerMissing(t)) {
  // reported by redisServerMissing
} else {
  t.test('a publish on one app reaches the subscribers of both apps through Redis, never the publishing socket', async t => {
    const redis = await startRedis(t)
    const a = await startApp(t, { url: redis.url, logger: captureLogger().logger })
    // the other app logs in as the default ACL user, by name
    const b = await startApp(t, { url: `redis://default:${PASSWORD}@127.0.0.1:${redis.port}/3`, logger: captureLogger().logger })
    const a1 = await a.connect()
    const a2 = await a.connect()
    const b1 = await b.connect()
    for (const peer of [a1, a2, b1]) peer.server.subscribe('room')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 2, 'one Redis subscription per app')

    a1.server.publish('room', 'hello from a1')
    a1.server.publish('room', Buffer.from([0, 1, 2, 255]))
    a.app.websocketPublish('room', 'from app A')
    b.app.websocketPublish('room', Buffer.from('from app B'), { binary: true })
    await a2.receivedCount(4)
    await b1.receivedCount(4)
    await a1.receivedCount(2)
    const all = ['hello from a1', Buffer.from([0, 1, 2, 255]), 'from app A', Buffer.from('from app B')]
    t.same(a2.received, all, 'the other socket on the same app gets text as text, binary as binary')
    t.same(b1.received, all, 'the socket on the other app gets the same')
    t.same(a1.received, ['from app A', Buffer.from('from app B')], 'the publishing socket gets only the later app-wide messages')
  })

  t.test('unsubscribing stops delivery, and an app leaves the channel when its last subscriber goes', async t => {
    const redis = await startRedis(t)
    const a = await startApp(t, { url: redis.url })
    const b = await startApp(t, { url: redis.url })
    const a1 = await a.connect()
    const b1 = await b.connect()
    const b2 = await b.connect()
    a1.server.subscribe('news')
    b1.server.subscribe('news')
    b2.server.subscribe('news')
    b1.server.subscribe('marker')
    await waitFor(async () => await subscriberCount(redis.port, 'news') === 2 && await subscriberCount(redis.port, 'marker') === 1, 'subscriptions')

    b1.server.unsubscribe('news')
    a.app.websocketPublish('news', 'one')
    await b2.receivedCount(1)
    t.equal(await subscriberCount(redis.port, 'news'), 2, 'app B still holds the channel for b2')

    b2.client.close()
    await waitFor(async () => await subscriberCount(redis.port, 'news') === 1, 'app B leaving the channel once b2 closed')
    a.app.websocketPublish('news', 'two')
    // Redis keeps one publisher's order: once the marker arrives, any 'news' for b1 would have too
    a.app.websocketPublish('marker', 'marker')
    await b1.receivedCount(1)
    await a1.receivedCount(2)
    t.same(b1.received, ['marker'], 'b1 got nothing on the topic it left')
    t.same(b2.received, ['one'])
    t.same(a1.received, ['one', 'two'])
  })

  t.test('after Redis restarts both apps reconnect, subscribe again, and delivery resumes', async t => {
    const redis = await startRedis(t)
    const logA = captureLogger()
    const a = await startApp(t, { url: redis.url, logger: logA.logger })
    const b = await startApp(t, { url: redis.url, logger: captureLogger().logger })
    const a1 = await a.connect()
    const b1 = await b.connect()
    a1.server.subscribe('room')
    b1.server.subscribe('room')
    b1.server.subscribe('other')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 2, 'subscriptions')
    a.app.websocketPublish('room', 'before')
    await b1.receivedCount(1)

    await redis.stop()
    await waitFor(() => !a.adapter.connected && !b.adapter.connected, 'both adapters noticing the loss')
    t.ok(logA.entries.some(e => e.level === 'warn' && e.msg === 'Redis connection lost; reconnecting'), 'the loss is logged')
    await redis.restart()
    await waitFor(() => a.adapter.connected && b.adapter.connected, 'both adapters reconnected')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 2 && await subscriberCount(redis.port, 'other') === 1,
      'every topic subscribed again')
    t.ok(logA.entries.some(e => e.level === 'info' && e.msg === 'Redis connection restored'))

    b1.server.publish('room', 'after')
    await a1.receivedCount(2)
    t.same(a1.received, ['before', 'after'])
    t.same(b1.received, ['before'], 'the publisher still does not get its own message')
  })

  t.test('publishes made while Redis is unreachable are queued and sent in order once it is back', async t => {
    const redis = await startRedis(t)
    const proxy = await startProxy(t, redis.port)
    const log = captureLogger()
    const a = await startApp(t, { url: proxy.url, logger: log.logger })
    const b = await startApp(t, { url: redis.url })
    const b1 = await b.connect()
    b1.server.subscribe('queued')
    await waitFor(async () => await subscriberCount(redis.port, 'queued') === 1, 'subscription')

    proxy.mode('refuse')
    await waitFor(() => !a.adapter.connected, 'app A losing Redis')
    for (const text of ['one', 'two', 'three']) a.app.websocketPublish('queued', text)
    a.app.websocketPublish('queued', Buffer.from([7, 8]))
    await sleep(100)
    t.same(b1.received, [], 'nothing reached Redis while it was unreachable')
    proxy.mode('forward')
    await b1.receivedCount(4)
    t.same(b1.received, ['one', 'two', 'three', Buffer.from([7, 8])])
    t.notOk(log.entries.some(e => /dropped/.test(e.msg)), 'nothing was dropped')
  })

  t.test('a full queue drops its oldest publishes and logs how many', async t => {
    const redis = await startRedis(t)
    const proxy = await startProxy(t, redis.port)
    const log = captureLogger()
    // each publish below encodes to a PUBLISH of about 340 bytes: the queue holds two
    const a = await startApp(t, { url: proxy.url, logger: log.logger, maxQueueBytes: 700 })
    const b = await startApp(t, { url: redis.url })
    const b1 = await b.connect()
    b1.server.subscribe('q')
    await waitFor(async () => await subscriberCount(redis.port, 'q') === 1, 'subscription')

    proxy.mode('refuse')
    await waitFor(() => !a.adapter.connected, 'app A losing Redis')
    for (const n of [1, 2, 3, 4]) a.app.websocketPublish('q', `${n}`.repeat(250))
    a.app.websocketPublish('q', 'x'.repeat(1000)) // larger than the whole queue: dropped at once
    t.equal(log.entries.filter(e => e.level === 'warn' && /queue is full/.test(e.msg)).length, 1, 'the first drop is logged, once')
    proxy.mode('forward')
    await b1.receivedCount(2)
    t.same(b1.received, ['3'.repeat(250), '4'.repeat(250)], 'the newest publishes survive, in order')
    t.match(log.entries.find(e => /publishes dropped/.test(e.msg)), { level: 'warn', obj: { dropped: 3 } }, 'the count is logged once Redis is back')
  })

  t.test('a long outage keeps only the newest publishes that fit, in order', async t => {
    const redis = await startRedis(t)
    const proxy = await startProxy(t, redis.port)
    const log = captureLogger()
    const a = await startApp(t, { url: proxy.url, logger: log.logger, maxQueueBytes: 10_000 })
    const b = await startApp(t, { url: redis.url })
    const b1 = await b.connect()
    b1.server.subscribe('long')
    await waitFor(async () => await subscriberCount(redis.port, 'long') === 1, 'subscription')

    proxy.mode('refuse')
    await waitFor(() => !a.adapter.connected, 'app A losing Redis')
    const sent = Array.from({ length: 5000 }, (_, i) => String(i).padStart(4, '0'))
    for (const text of sent) a.app.websocketPublish('long', text)
    proxy.mode('forward')
    await waitFor(() => b1.received.includes('4999'), 'the newest publish')
    await sleep(50)
    const kept = b1.received.length
    t.ok(kept > 50 && kept < 500, `the queue held the newest ${kept}`)
    t.same(b1.received, sent.slice(-kept), 'exactly the newest, in order')
    t.match(log.entries.find(e => /publishes dropped/.test(e.msg)), { obj: { dropped: sent.length - kept } })
  })

  t.test('a command Redis refuses (an ACL without the channel) is logged, and the connection goes on', async t => {
    const redis = await startRedis(t)
    await redisCommand(redis.port, ['ACL', 'SETUSER', 'limited', 'on', '>pw', '+@all', 'resetchannels', '&fastify-rfc6455:allowed'])
    const log = captureLogger()
    const a = await startApp(t, { url: `redis://limited:pw@127.0.0.1:${redis.port}`, logger: log.logger })
    const a1 = await a.connect()
    a1.server.subscribe('forbidden')
    a1.server.subscribe('allowed')
    a.app.websocketPublish('forbidden', 'nope')
    await waitFor(() => log.entries.filter(e => e.msg === 'Redis refused a command').length === 2, 'both refusals logged')
    for (const role of ['subscriber', 'publisher']) {
      t.match(log.entries.find(e => e.level === 'error' && e.obj.role === role), { obj: { err: { code: 'WS_ERR_REDIS_REPLY', message: /NOPERM/ } } },
        `the ${role}'s refusal`)
    }
    await waitFor(async () => await subscriberCount(redis.port, 'allowed') === 1, 'the allowed subscription')
    a.app.websocketPublish('allowed', 'yes')
    await a1.receivedCount(1)
    t.same(a1.received, ['yes'])
    t.ok(a.adapter.connected)
  })

  t.test('a burst larger than maxQueueBytes in one event-loop turn keeps its head and drops the rest, logged', async t => {
    const redis = await startRedis(t)
    const log = captureLogger()
    const a = await startApp(t, { url: redis.url, logger: log.logger, maxQueueBytes: 1200 })
    const a1 = await a.connect()
    a1.server.subscribe('burst')
    await waitFor(async () => await subscriberCount(redis.port, 'burst') === 1, 'subscription')
    const burst = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(200))
    for (const text of burst) a.app.websocketPublish('burst', text)
    await sleep(50)
    a.app.websocketPublish('burst', 'next turn')
    await waitFor(() => a1.received.includes('next turn'), 'the publish of the next turn')
    const kept = a1.received.length - 1
    t.ok(kept > 0 && kept < burst.length, `part of the burst was kept (${kept})`)
    t.same(a1.received, [...burst.slice(0, kept), 'next turn'])
    t.ok(log.entries.some(e => /not reading publishes fast enough/.test(e.msg)), 'the drop is logged')
    t.match(log.entries.find(e => /publishes dropped/.test(e.msg)), { obj: { dropped: burst.length - kept } })
  })

  t.test('a malformed message on a channel is logged and ignored; delivery goes on', async t => {
    const redis = await startRedis(t)
    const log = captureLogger()
    const a = await startApp(t, { url: redis.url, logger: log.logger })
    const a1 = await a.connect()
    a1.server.subscribe('room')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 1, 'subscription')
    const bad = [Buffer.from('plain text'), Buffer.from([1, 0, 0]), Buffer.from([1, 4, 1, 0x61]), Buffer.from([1, 2, 1, 0x61]),
      Buffer.from([1, 2, 1, 0x61, 5, 0x62]), Buffer.from([1, 0, 9, 0x61])]
    for (const payload of bad) await redisCommand(redis.port, ['PUBLISH', 'fastify-rfc6455:room', payload])
    a.app.websocketPublish('room', 'still here')
    await a1.receivedCount(1)
    t.same(a1.received, ['still here'])
    t.equal(log.entries.filter(e => e.msg === 'malformed pub/sub message from Redis ignored').length, bad.length)
  })

  t.test('without a logger, warnings go to process warnings', async t => {
    const redis = await startRedis(t)
    const a = await startApp(t, { url: redis.url })
    const a1 = await a.connect()
    a1.server.subscribe('room')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 1, 'subscription')
    const warned = once(process, 'warning') as Promise<[Error]>
    await redisCommand(redis.port, ['PUBLISH', 'fastify-rfc6455:room', 'junk'])
    const [warning] = await warned
    t.match(warning, { name: 'RedisAdapterWarning', message: 'malformed pub/sub message from Redis ignored' })
  })

  t.test('start() against a closed port rejects with WS_ERR_REDIS_CONNECT, and so does the app', async t => {
    const port = await freePort()
    const adapter = redisAdapter({ url: `redis://127.0.0.1:${port}` })
    const err = await adapter.start(() => {}).then(() => null, (e: unknown) => e)
    t.match(err, { code: 'WS_ERR_REDIS_CONNECT', message: new RegExp(`127.0.0.1:${port}`), cause: { code: 'ECONNREFUSED' } })
    t.equal(adapter.connected, false)
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(websocket, { pubsub: redisAdapter({ url: `redis://127.0.0.1:${port}` }) }) },
      { code: 'WS_ERR_REDIS_CONNECT' }, 'registering the plugin fails')
  })

  t.test('start() against a server that never answers rejects after connectTimeout', async t => {
    const redis = await startRedis(t)
    const proxy = await startProxy(t, redis.port)
    proxy.mode('silent')
    const adapter = redisAdapter({ url: proxy.url, connectTimeout: 150 })
    const started = Date.now()
    // the timeout given, named in the error (no wall-clock upper bound on a shared machine)
    await t.rejects(adapter.start(() => {}), { code: 'WS_ERR_REDIS_CONNECT', message: /no answer within 150 ms/ })
    t.ok(Date.now() - started >= 140, 'not before connectTimeout')
  })

  t.test('start() with a wrong password or a non-Redis server rejects with WS_ERR_REDIS_CONNECT', async t => {
    const redis = await startRedis(t)
    await t.rejects(redisAdapter({ url: `redis://:wrong@127.0.0.1:${redis.port}` }).start(() => {}),
      { code: 'WS_ERR_REDIS_CONNECT', message: /WRONGPASS/ })
    await t.rejects(redisAdapter({ url: `redis://127.0.0.1:${redis.port}` }).start(() => {}),
      { code: 'WS_ERR_REDIS_CONNECT', message: /NOAUTH/ })
    // the adapter drops the connection at the first byte it cannot parse; the connection is reset
    // and from Node 24 on this server's socket reports ECONNRESET after its end() (Node 20 does
    // not): without an 'error' listener that was the 'unhandled ECONNRESET' of this test (issue 11)
    const http = createServer(socket => {
      socket.on('error', () => {})
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')
    }).listen(0, '127.0.0.1')
    await once(http, 'listening')
    t.teardown(() => http.close())
    const { port } = http.address() as { port: number }
    await t.rejects(redisAdapter({ url: `redis://127.0.0.1:${port}` }).start(() => {}),
      { code: 'WS_ERR_REDIS_CONNECT', cause: { code: 'WS_ERR_REDIS_PROTOCOL' } })
  })

  t.test('close() closes both connections and clears every timer, connected or reconnecting', async t => {
    const redis = await startRedis(t)
    const proxy = await startProxy(t, redis.port)
    const clients = async (): Promise<number> => {
      const list = await redisCommand(redis.port, ['CLIENT', 'LIST']) as Buffer
      return list.toString().trim().split('\n').length - 1 // less the CLIENT LIST connection itself
    }
    const handles = (): Record<string, number> => {
      const count: Record<string, number> = {}
      for (const name of process.getActiveResourcesInfo()) if (name === 'TCPSocketWrap' || name === 'Timeout') count[name] = (count[name] ?? 0) + 1
      return count
    }
    await waitFor(async () => await clients() === 0, 'no clients yet')
    await sleep(50)
    const baseline = handles()
    /** handles of sockets the test destroyed close a moment later: give them that moment */
    const settled = (): Promise<void> => waitFor(() => isDeepStrictEqual(handles(), baseline), 'handles back to the baseline', 1000).catch(() => {})

    const connected = redisAdapter({ url: redis.url, logger: captureLogger().logger })
    await connected.start(() => {})
    connected.subscribe('room')
    t.equal(await clients(), 2, 'a publisher and a subscriber connection')
    await connected.close()
    await waitFor(async () => await clients() === 0, 'Redis seeing both connections close')
    await settled()
    t.same(handles(), baseline, 'no socket or timer left behind')
    await t.rejects(Promise.resolve(connected.publish({ topic: 'room', data: Buffer.from('x'), binary: false, origin: 'o', exceptSocket: null })),
      { code: 'WS_ERR_CONNECTION_CLOSED' }, 'publishing after close fails clearly')
    await t.rejects(connected.start(() => {}), { code: 'WS_ERR_INVALID_OPTION' }, 'it cannot be started again')

    const log = captureLogger()
    const reconnecting = redisAdapter({ url: proxy.url, logger: log.logger, minReconnectDelay: 5000, maxReconnectDelay: 5000 })
    await reconnecting.start(() => {})
    proxy.mode('refuse')
    await waitFor(() => log.entries.filter(e => /reconnecting/.test(e.msg)).length === 2, 'both connections waiting to reconnect')
    reconnecting.publish({ topic: 'room', data: Buffer.from('never sent'), binary: false, origin: 'o', exceptSocket: null })
    await reconnecting.close()
    await settled()
    t.same(handles(), baseline, 'the reconnect timers are cleared')
    t.match(log.entries.at(-1), { level: 'warn', obj: { dropped: 1 } }, 'the publish it never sent is logged')
  })

  t.test('close() during start() rejects the start and leaves nothing open', async t => {
    const redis = await startRedis(t)
    const proxy = await startProxy(t, redis.port)
    proxy.mode('silent')
    const adapter = redisAdapter({ url: proxy.url })
    const refused = t.rejects(adapter.start(() => {}), { code: 'WS_ERR_CONNECTION_CLOSED' })
    await sleep(50)
    await adapter.close()
    await refused
  })

  t.test('bad options are refused with WS_ERR_INVALID_OPTION', async t => {
    for (const options of [{ url: 'not a url' }, { url: 'rediss://127.0.0.1:6380' }, { url: 'redis://127.0.0.1/db0' },
      { connectTimeout: -1 }, { maxQueueBytes: Number.NaN }, { backoffResetAfter: -5 }, { maxMessageBytes: 0 },
      { maxReplyElements: 1.5 }, { maxReplyDepth: 0 }, { maxReplyBytes: Number.POSITIVE_INFINITY }] satisfies RedisAdapterOptions[]) {
      t.throws(() => redisAdapter(options), { code: 'WS_ERR_INVALID_OPTION' }, JSON.stringify(options))
    }
  })
}
