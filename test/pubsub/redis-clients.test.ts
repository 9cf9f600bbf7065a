// The Redis adapter on the user's own clients, for each kind: ioredis and node-redis clients
// passed in, and the two made from the optional peer dependency by `{ url, client }`. Against a
// real redis-server: plain topics carried, resumable ones numbered by their stream, the window
// trimmed to maxMessages with the gap named, an id from the future answered with a gap, and a
// Redis restart that lost its data (no persistence) turned into a gap rather than a silent skip.
import t, { type Test } from 'tap'
import Redis from 'ioredis'
import { createClient } from 'redis'
import { redisAdapter, type PublishedMessage, type RedisClientAdapter } from '../../lib/index'
import { startRedis, redisServerMissing, waitFor, type RedisServer } from '../helpers/redis'

type Make = (redis: RedisServer) => Promise<{ adapter: RedisClientAdapter, close: () => Promise<unknown> }>

const resume = { maxMessages: 3, topics: (topic: string) => topic.startsWith('r:') }

const kinds: Record<string, Make> = {
  'ioredis clients': async redis => {
    const publisher = new Redis(redis.url)
    const subscriber = new Redis(redis.url)
    return { adapter: redisAdapter({ publisher, subscriber, resume }), close: async () => { publisher.disconnect(); subscriber.disconnect() } }
  },
  'node-redis clients': async redis => {
    const publisher = createClient({ url: redis.url })
    const subscriber = publisher.duplicate()
    publisher.on('error', () => {})
    subscriber.on('error', () => {})
    await Promise.all([publisher.connect(), subscriber.connect()])
    return { adapter: redisAdapter({ publisher, subscriber, resume }), close: () => Promise.all([publisher.close(), subscriber.close()]) }
  },
  "{ url, client: 'ioredis' }": async redis => ({ adapter: redisAdapter({ url: redis.url, client: 'ioredis', resume }), close: async () => {} }),
  "{ url, client: 'redis' }": async redis => ({ adapter: redisAdapter({ url: redis.url, client: 'redis', resume }), close: async () => {} })
}

function message (topic: string, text: string): PublishedMessage {
  return { topic, data: Buffer.from(text), binary: false, origin: 'test-origin', exceptSocket: null }
}

for (const [kind, make] of Object.entries(kinds)) {
  t.test(`${kind}: plain and resumable topics, the window and its gap`, async (t: Test) => {
    if (redisServerMissing(t)) return
    const redis = await startRedis(t)
    const { adapter, close } = await make(redis)
    const got: PublishedMessage[] = []
    await adapter.start(m => got.push(m), { maxPayload: 1 << 20 })
    t.teardown(async () => { await adapter.close(); await close() })
    await adapter.subscribe('plain')
    await adapter.subscribe('r:1')
    await adapter.publish(message('plain', 'hello'))
    const fresh = await adapter.replay('r:1', null)
    t.equal(fresh.gap, null)
    for (let i = 0; i < 5; i++) await adapter.publish(message('r:1', `m${i}`))
    await waitFor(() => got.length === 6, 'six messages back from Redis')
    t.same(got.map(m => [m.topic, m.data.toString(), m.id]), [['plain', 'hello', undefined], ...got.slice(1).map((m, i) => ['r:1', `m${i}`, m.id])])
    const ids = got.slice(1).map(m => m.id!)
    t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1] || id.length > ids[i - 1].length), 'ids increase')
    const r = await adapter.replay('r:1', fresh.last)
    t.equal(r.gap, ids[1], 'three held: m0 and m1 lost, the gap names m1')
    t.same(r.messages.map(m => m.data.toString()), ['m2', 'm3', 'm4'])
    t.equal(r.last, ids[4])
    t.same((await adapter.replay('r:1', ids[3])).messages.map(m => m.data.toString()), ['m4'])
    t.same(await adapter.replay('r:1', '99999999999999-0'), { last: ids[4], gap: ids[4], messages: [] }, 'an id from the future')
  })
}

t.test('a Redis that lost its data (restart without persistence): an id from before gets a gap', async t => {
  if (redisServerMissing(t)) return
  const redis = await startRedis(t)
  const publisher = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 })
  const subscriber = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 })
  const adapter = redisAdapter({ publisher, subscriber, resume: true })
  await adapter.start(() => {}, { maxPayload: 1 << 20 })
  t.teardown(async () => { await adapter.close(); publisher.disconnect(); subscriber.disconnect() })
  await adapter.subscribe('t')
  await adapter.publish(message('t', 'before'))
  const { last } = await adapter.replay('t', null)
  await redis.stop()
  await redis.restart()
  await adapter.publish(message('t', 'after'))
  const r = await adapter.replay('t', last)
  t.not(r.gap, null, 'the stream was born again after the id: a gap')
  t.same(r.messages.map(m => m.data.toString()), ['after'])
})

t.test('close() leaves clients passed in open, without the adapter\'s listeners or subscriptions', async t => {
  if (redisServerMissing(t)) return
  const redis = await startRedis(t)
  const publisher = new Redis(redis.url)
  const subscriber = new Redis(redis.url)
  t.teardown(() => { publisher.disconnect(); subscriber.disconnect() })
  const before = [subscriber.listenerCount('messageBuffer'), subscriber.listenerCount('ready')]
  const adapter = redisAdapter({ publisher, subscriber, resume: true })
  await adapter.start(() => {}, { maxPayload: 1024 })
  await adapter.subscribe('t')
  t.ok(subscriber.listenerCount('messageBuffer') > before[0])
  await adapter.close()
  t.same([subscriber.listenerCount('messageBuffer'), subscriber.listenerCount('ready')], before, 'listeners removed')
  t.equal(await publisher.ping(), 'PONG', 'the publisher is still the user\'s, open')
  await waitFor(async () => (await publisher.call('PUBSUB', 'NUMSUB', 'fastify-rfc6455:t') as [string, number])[1] === 0, 'the channel unsubscribed')
})
