// The Redis adapter's limits against a real redis-server: the largest message follows the plugin's
// maxPayload (or maxMessageBytes), larger ones are neither published nor held when received, and
// the reconnect backoff starts over only once a connection has stayed up backoffResetAfter.
import t, { type Test } from 'tap'
import { createServer, connect as netConnect, type Socket } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { redisAdapter, type RedisAdapter, type RedisAdapterOptions } from '../../lib/index'
import { pubsubHarness, type Peer } from '../helpers/pubsub'
import { PASSWORD, waitFor, redisCommand, subscriberCount, startRedis, redisServerMissing } from '../helpers/redis'

interface LogEntry { level: string, obj: Record<string, unknown>, msg: string }

function captureLogger (): { entries: LogEntry[], logger: NonNullable<RedisAdapterOptions['logger']> } {
  const entries: LogEntry[] = []
  const add = (level: string) => (obj: object, msg: string) => { entries.push({ level, obj: obj as Record<string, unknown>, msg }) }
  return { entries, logger: { info: add('info'), warn: add('warn'), error: add('error') } }
}

/** A message in the adapter's envelope (version 1, text, origin "x") carrying `data`. */
function envelope (data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 0, 1, 0x78]), data])
}

/** A TCP relay to Redis the test can cut (every open connection closed, new ones refused) and restore. */
async function startRelay (t: Test, port: number): Promise<{ url: string, cut (): void, restore (): void }> {
  let open = true
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    client.on('error', () => {})
    if (!open) {
      client.destroy()
      return
    }
    const upstream = netConnect({ host: '127.0.0.1', port })
    upstream.on('error', () => {})
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return {
    url: `redis://:${PASSWORD}@127.0.0.1:${(server.address() as { port: number }).port}`,
    cut () {
      open = false
      for (const s of sockets) s.destroy()
    },
    restore () { open = true }
  }
}

if (redisServerMissing(t)) {
  // reported by redisServerMissing
} else {
  t.test('with maxPayload 1000, a larger publish is not sent and a larger message from Redis is skipped; the rest flows', async t => {
    const redis = await startRedis(t)
    const log = captureLogger()
    const adapter = redisAdapter({ url: redis.url, logger: log.logger })
    const { app, connect } = await pubsubHarness(t, { pubsub: adapter, maxPayload: 1000 })
    const peer: Peer = await connect()
    peer.server.subscribe('room')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 1, 'subscription')

    app.websocketPublish('room', 'x'.repeat(1000)) // 1000 bytes and the envelope: at the limit
    app.websocketPublish('room', 'y'.repeat(1000 + 514))
    t.match(log.entries.find(e => /not published/.test(e.msg)),
      { level: 'warn', obj: { err: { code: 'WS_ERR_REDIS_MESSAGE_TOO_BIG' }, topic: 'room', maxMessageBytes: 1514 } }, 'the refused publish is logged')

    // another process (with a larger maxPayload, say) publishes more than this one may hold
    await redisCommand(redis.port, ['PUBLISH', 'fastify-rfc6455:room', envelope(Buffer.alloc(4000, 0x7a))])
    await redisCommand(redis.port, ['PUBLISH', 'fastify-rfc6455:room', envelope(Buffer.from('small'))])
    await peer.receivedCount(2)
    t.same(peer.received, ['x'.repeat(1000), 'small'], 'the one at the limit and the one after the skipped one arrive')
    t.match(log.entries.find(e => /skipped/.test(e.msg)),
      { level: 'warn', obj: { err: { code: 'WS_ERR_REDIS_MESSAGE_TOO_BIG', message: /4004 bytes/ }, maxMessageBytes: 1514 } })
    t.ok(adapter.connected, 'no reconnect: the connection went on past the skipped message')
    t.notOk(log.entries.some(e => /reconnect/.test(e.msg)))
  })

  t.test('maxMessageBytes overrides the one maxPayload gives', async t => {
    const redis = await startRedis(t)
    const log = captureLogger()
    const { app, connect } = await pubsubHarness(t, { pubsub: redisAdapter({ url: redis.url, logger: log.logger, maxMessageBytes: 5000 }), maxPayload: 100 })
    const peer = await connect()
    peer.server.subscribe('room')
    await waitFor(async () => await subscriberCount(redis.port, 'room') === 1, 'subscription')
    app.websocketPublish('room', 'a'.repeat(4000))
    await peer.receivedCount(1)
    t.equal(peer.received[0], 'a'.repeat(4000))
    t.equal(log.entries.length, 0, 'nothing refused or skipped')
  })

  t.test('the backoff grows while connections keep failing, and starts over once one stayed up backoffResetAfter', async t => {
    const redis = await startRedis(t)
    const relay = await startRelay(t, redis.port)
    const log = captureLogger()
    const adapter: RedisAdapter = redisAdapter({ url: relay.url, logger: log.logger, minReconnectDelay: 10, maxReconnectDelay: 1000, backoffResetAfter: 1000 })
    await adapter.start(() => {})
    const attempts = (): unknown[] => log.entries.filter(e => e.obj.role === 'publisher' && /reconnect/.test(e.msg)).map(e => e.obj.attempt)

    relay.cut()
    await waitFor(() => attempts().length >= 3, 'three failed attempts')
    relay.restore()
    await waitFor(() => adapter.connected, 'reconnected')
    const before = attempts().length
    // cut again at once: well within backoffResetAfter, so the count goes on
    relay.cut()
    await waitFor(() => attempts().length > before, 'the next loss')
    t.ok((attempts()[before] as number) > 1, `a loss soon after reconnecting is attempt ${String(attempts()[before])}, not 1`)
    relay.restore()
    await waitFor(() => adapter.connected, 'reconnected again')
    // the adapter's backoffResetAfter timer (1 s) was set before this sleep's, so it has fired
    await sleep(1500)
    const reset = attempts().length
    relay.cut()
    await waitFor(() => attempts().length > reset, 'the loss after a healthy spell')
    t.equal(attempts()[reset], 1, 'after a connection stayed up backoffResetAfter, the count starts over')
    await adapter.close()
  })
}
