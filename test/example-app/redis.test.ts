// The chat demo as several processes would run it behind a load balancer: two instances of the
// app, each with its own redisAdapter on one real redis-server. A member on one instance hears a
// member on the other (join, message, leave), as REDIS_URL makes server.js do.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import WS from 'ws'
import { buildApp, type ChatApp } from '../../example-app/app.js'
import { redisAdapter } from '../../lib/index'
import { startRedis, redisServerMissing, subscriberCount, waitFor } from '../helpers/redis'

interface ChatEvent { type: string, [key: string]: unknown }

async function instance (t: Test, url: string): Promise<{ app: ChatApp, base: string }> {
  // one secret for both: a token from one instance is good on the other, as behind a balancer
  const app = await buildApp({ secret: 'shared between instances', pubsub: redisAdapter({ url, logger: { info () {}, warn () {}, error () {} } }) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
}

async function join (t: Test, base: string, nickname: string): Promise<{ client: WS, next: (type: string) => Promise<ChatEvent> }> {
  const res = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nickname }) })
  const { token } = await res.json() as { token: string }
  const client = new WS(`${base.replace('http', 'ws')}/chat/lobby`, ['chat.v1', `token.${token}`], { origin: base })
  t.teardown(() => client.terminate())
  const events: ChatEvent[] = []
  client.on('message', (data: Buffer) => events.push(JSON.parse(data.toString()) as ChatEvent))
  await once(client, 'open')
  const next = async (type: string): Promise<ChatEvent> => {
    await waitFor(() => events.some(e => e.type === type), `a ${type} event for ${nickname}`)
    const i = events.findIndex(e => e.type === type)
    return events.splice(i, 1)[0]
  }
  await next('welcome')
  return { client, next }
}

if (!redisServerMissing(t)) {
  t.test('two instances of the demo share a room through Redis: join, message and leave cross over', async t => {
    const redis = await startRedis(t)
    const a = await instance(t, redis.url)
    const b = await instance(t, redis.url)
    const ada = await join(t, a.base, 'ada')
    await waitFor(async () => await subscriberCount(redis.port, 'room:lobby') === 1, 'the room channel subscribed by instance a')
    const bob = await join(t, b.base, 'bob')
    await waitFor(async () => await subscriberCount(redis.port, 'room:lobby') === 2, 'both instances subscribed')
    t.match(await ada.next('join'), { type: 'join', nickname: 'bob' }, 'ada, on instance a, sees bob join on instance b')

    bob.client.send(JSON.stringify({ type: 'message', text: 'hello across processes' }))
    t.match(await ada.next('message'), { type: 'message', from: 'bob', text: 'hello across processes' })
    t.match(await bob.next('message'), { type: 'message', from: 'bob', text: 'hello across processes' }, 'the sender hears its own message too')

    ada.client.send(JSON.stringify({ type: 'message', text: 'and back' }))
    t.match(await bob.next('message'), { type: 'message', from: 'ada', text: 'and back' })

    ada.client.close()
    t.match(await bob.next('leave'), { type: 'leave', nickname: 'ada' }, 'bob sees ada leave')
  })
}
