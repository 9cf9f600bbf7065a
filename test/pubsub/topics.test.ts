// Pub/sub over real sockets: the subscriber registry, who receives what, a message framed once
// for all its subscribers, the slow-consumer policies, unsubscribe on close, and an adapter
// that carries every message (as a Redis adapter would).
import t from 'tap'
import { once } from 'node:events'
import { setImmediate as turn } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import WS from 'ws'
import websocket, { type WebSocket, type PubSubAdapter, type PublishedMessage, type DeliverFunction } from '../../lib/index'
import * as serializer from '../../lib/engine/serializer'
import { sessionOf } from '../../lib/session'
import { pubsubHarness, type Peer } from '../helpers/pubsub'

const harness = pubsubHarness

t.test('subscribe, unsubscribe and topics keep the registry and the socket in step', async t => {
  const { app, connect } = await harness(t)
  const a = await connect()
  t.equal(a.server.subscribe('news'), true, 'first subscribe is new')
  t.equal(a.server.subscribe('news'), false, 'second subscribe of the same topic is not')
  t.equal(a.server.subscribe('sport'), true)
  t.same([...a.server.topics].sort(), ['news', 'sport'])
  t.same([...app.websocketSubscribers('news')], [a.server])

  t.equal(a.server.unsubscribe('news'), true)
  t.equal(a.server.unsubscribe('news'), false, 'unsubscribing again is a no-op')
  t.equal(a.server.unsubscribe('never-subscribed'), false)
  t.same([...a.server.topics], ['sport'])
  t.equal(app.websocketSubscribers('news').size, 0)

  // the unsubscribed topic no longer reaches the client; the other still does
  app.websocketPublish('news', 'missed')
  app.websocketPublish('sport', 'goal')
  await a.receivedCount(1)
  await turn()
  t.same(a.received, ['goal'])
})

t.test('a socket that is no longer open cannot subscribe', async t => {
  const { app, connect } = await harness(t)
  const a = await connect()
  a.server.close(1000)
  t.equal(a.server.subscribe('late'), false)
  t.equal(app.websocketSubscribers('late').size, 0)
})

t.test('socket.publish reaches every subscriber but the sender, as text or binary', async t => {
  const { connect } = await harness(t)
  const [a, b, c] = [await connect(), await connect(), await connect()]
  for (const p of [a, b, c]) p.server.subscribe('room')
  const outsider = await connect()

  a.server.publish('room', 'hello from a')
  a.server.publish('room', Buffer.from([1, 2, 3]))
  a.server.publish('room', 'as binary', { binary: true })
  a.server.publish('room', Buffer.from('as text'), { binary: false })
  // the sender is not subscribed-blind: a publish by b does reach a
  b.server.publish('room', 'from b')

  await b.receivedCount(4)
  await c.receivedCount(5)
  await a.receivedCount(1)
  await turn()
  const expected = ['hello from a', Buffer.from([1, 2, 3]), Buffer.from('as binary'), 'as text']
  t.same(b.received, expected)
  t.same(c.received, [...expected, 'from b'])
  t.same(a.received, ['from b'], 'the sender got none of its own messages')
  t.same(outsider.received, [], 'a socket not subscribed gets nothing')
})

t.test('app.websocketPublish reaches every subscriber', async t => {
  const { app, connect } = await harness(t)
  const peers = [await connect(), await connect(), await connect()]
  for (const p of peers) p.server.subscribe('all')
  app.websocketPublish('all', 'to everyone')
  app.websocketPublish('all', new Uint8Array([9, 8]))
  app.websocketPublish('nobody-listens', 'lost') // a topic without subscribers is fine
  for (const p of peers) await p.receivedCount(2)
  for (const p of peers) t.same(p.received, ['to everyone', Buffer.from([9, 8])])
})

t.test('a message published to N subscribers is framed once and the same buffer is queued on each', async t => {
  const { app, connect } = await harness(t)
  const peers: Peer[] = []
  for (let i = 0; i < 5; i++) peers.push(await connect())
  const queued = new Map<WebSocket, Buffer[]>()
  for (const p of peers) {
    p.server.subscribe('fanout')
    const conn = sessionOf(p.server).conn
    const sendRaw = conn.sendRaw.bind(conn)
    queued.set(p.server, [])
    conn.sendRaw = (frame: Buffer) => { queued.get(p.server)!.push(frame); sendRaw(frame) }
  }
  const mutable = serializer as { buildFrame: typeof serializer.buildFrame }
  const buildFrame = mutable.buildFrame
  let built = 0
  mutable.buildFrame = (...args) => { built++; return buildFrame(...args) }
  t.teardown(() => { mutable.buildFrame = buildFrame })

  const payload = 'x'.repeat(70_000) // a 64-bit length header, to check the whole frame
  app.websocketPublish('fanout', payload)
  mutable.buildFrame = buildFrame

  t.equal(built, 1, 'buildFrame ran once for five subscribers')
  const frames = [...queued.values()].map(list => list[0])
  t.equal(frames.length, 5)
  t.ok(frames.every(f => f === frames[0]), 'every subscriber was handed the very same Buffer')
  t.same(frames[0].subarray(0, 2), Buffer.from([0x81, 127]), 'FIN + text opcode, unmasked, 64-bit length')
  for (const p of peers) await p.receivedCount(1)
  for (const p of peers) t.equal(p.received[0], payload)
})

/**
 * Publish 16 KiB messages to a fast and a slow subscriber, one at a time (each waits until the
 * fast client has it), until the slow one's queue is over `limit`; then `extra` more.
 */
async function floodUntilOverLimit (app: FastifyInstance, fast: Peer, slow: Peer, limit: number, extra: number): Promise<number> {
  const chunk = 'y'.repeat(16 * 1024)
  let sent = 0
  let over = -1
  while (over < 0 || sent < over + extra) {
    if (sent > 4000) throw new Error(`the slow socket never exceeded ${limit} bytes (${slow.server.bufferedAmount})`)
    app.websocketPublish('flood', `${sent} ${chunk}`)
    sent++
    await fast.receivedCount(sent)
    if (over < 0 && slow.server.bufferedAmount > limit) over = sent
  }
  return sent
}

function sequence (messages: Array<string | Buffer>): number[] {
  return messages.map(m => Number(String(m).slice(0, String(m).indexOf(' '))))
}

t.test("backpressure 'drop': a subscriber that stops reading misses messages, the others get them all", async t => {
  const limit = 256 * 1024
  const { app, connect } = await harness(t, { maxBackpressure: limit, backpressurePolicy: 'drop' })
  const fast = await connect()
  const slow = await connect()
  fast.server.subscribe('flood')
  slow.server.subscribe('flood')
  const slowTcp = (slow.client as unknown as { _socket: import('node:net').Socket })._socket
  slowTcp.pause()

  const sent = await floodUntilOverLimit(app, fast, slow, limit, 5)
  t.same(sequence(fast.received), [...Array(sent).keys()], 'the fast subscriber got every message in order')
  t.equal(slow.server.readyState, WS.OPEN, 'the slow socket stays open')

  slowTcp.resume()
  // once it has caught up, it receives again
  while (slow.server.bufferedAmount > 0) await new Promise(resolve => setTimeout(resolve, 5))
  await new Promise(resolve => setTimeout(resolve, 50)) // let the client read what the kernel holds
  const before = slow.received.length
  app.websocketPublish('flood', 'after catching up')
  await fast.receivedCount(sent + 1)
  await slow.receivedCount(before + 1)
  const got = sequence(slow.received.slice(0, -1))
  t.ok(got.length < sent, `the slow subscriber missed messages (${got.length} of ${sent})`)
  t.same(got, [...got].sort((x, y) => x - y), 'what it got is in order')
  t.notOk(got.includes(sent - 1), 'the last message, sent while it was over the limit, was dropped')
  t.equal(slow.received.at(-1), 'after catching up')
})

t.test("backpressure 'close': a subscriber that stops reading is closed with 1008, the others carry on", async t => {
  const limit = 256 * 1024
  const { app, connect } = await harness(t, { maxBackpressure: limit, backpressurePolicy: 'close', closeTimeout: 2000 })
  const fast = await connect()
  const slow = await connect()
  fast.server.subscribe('flood')
  slow.server.subscribe('flood')
  const slowTcp = (slow.client as unknown as { _socket: import('node:net').Socket })._socket
  slowTcp.pause()

  const sent = await floodUntilOverLimit(app, fast, slow, limit, 2)
  t.same(sequence(fast.received), [...Array(sent).keys()], 'the fast subscriber got every message')
  t.not(slow.server.readyState, WS.OPEN, 'the slow socket is closing')
  t.equal(fast.server.readyState, WS.OPEN)
  // at once, not when its TCP connection closes (Node 24 and 26 report the client's close first)
  t.same([...app.websocketSubscribers('flood')], [fast.server], 'the closed socket left the topic')
  t.equal(slow.server.topics.size, 0)

  const closed = once(slow.client, 'close')
  slowTcp.resume()
  const [code] = await closed as [number, Buffer]
  t.equal(code, 1008, 'the client reads a 1008 Policy Violation close frame after the queued messages')
  t.same([...app.websocketSubscribers('flood')], [fast.server], 'and it is still no subscriber')
})

t.test('closing a socket, cleanly or not, unsubscribes it from every topic', async t => {
  const { app, connect } = await harness(t)
  const [a, b, c] = [await connect(), await connect(), await connect()]
  for (const p of [a, b, c]) { p.server.subscribe('one'); p.server.subscribe('two') }
  c.server.subscribe('only-c')
  t.equal(app.websocketSubscribers('one').size, 3)

  a.client.close(1000)
  await once(a.server, 'close')
  t.same([...app.websocketSubscribers('one')], [b.server, c.server])
  t.same([...app.websocketSubscribers('two')], [b.server, c.server])
  t.equal(a.server.topics.size, 0, 'the closed socket lists no topics')

  c.client.terminate() // no closing handshake
  await once(c.server, 'close')
  t.same([...app.websocketSubscribers('one')], [b.server])
  t.equal(app.websocketSubscribers('only-c').size, 0)

  app.websocketPublish('one', 'still works')
  await b.receivedCount(1)
  t.same(b.received, ['still works'])
})

/** An adapter that records every call and, like Redis, delivers asynchronously. */
class RecordingAdapter implements PubSubAdapter {
  calls: string[] = []
  published: PublishedMessage[] = []
  deliver: DeliverFunction | null = null
  start (deliver: DeliverFunction): Promise<void> {
    this.calls.push('start')
    this.deliver = deliver
    return Promise.resolve()
  }

  publish (message: PublishedMessage): Promise<void> {
    this.calls.push(`publish ${message.topic}`)
    this.published.push(message)
    // a copy, as if it had crossed the network
    const copy = { ...message, data: Buffer.from(message.data) }
    return new Promise(resolve => setImmediate(() => { this.deliver?.(copy); resolve() }))
  }

  subscribe (topic: string): Promise<void> {
    this.calls.push(`subscribe ${topic}`)
    return Promise.resolve()
  }

  unsubscribe (topic: string): void {
    this.calls.push(`unsubscribe ${topic}`)
  }

  close (): void {
    this.calls.push('close')
  }
}

t.test('a custom adapter sees the first subscribe and the last unsubscribe, and carries every publish', async t => {
  const adapter = new RecordingAdapter()
  const { app, connect } = await harness(t, { pubsub: adapter })
  t.same(adapter.calls, ['start'], 'started at registration')

  const [a, b, c] = [await connect(), await connect(), await connect()]
  a.server.subscribe('chat')
  b.server.subscribe('chat')
  c.server.subscribe('chat')
  t.same(adapter.calls, ['start', 'subscribe chat'], 'one subscribe for three local subscribers')

  a.server.publish('chat', 'from a')
  app.websocketPublish('chat', Buffer.from([7]))
  await b.receivedCount(2)
  await c.receivedCount(2)
  await turn()
  t.same(b.received, ['from a', Buffer.from([7])])
  t.same(a.received, [Buffer.from([7])], 'the sender is left out even after the round trip')
  t.match(adapter.published[0], { topic: 'chat', data: Buffer.from('from a'), binary: false, exceptSocket: a.server.id })
  t.match(adapter.published[1], { topic: 'chat', binary: true, exceptSocket: null })
  t.equal(adapter.published[0].origin, adapter.published[1].origin)
  t.type(adapter.published[0].origin, 'string')

  // a message from another process naming one of our socket ids is not ours to filter
  adapter.deliver!({ topic: 'chat', data: Buffer.from('remote'), binary: false, origin: 'another-process', exceptSocket: a.server.id })
  await a.receivedCount(2)
  t.equal(a.received[1], 'remote')

  a.server.unsubscribe('chat')
  b.client.close()
  await once(b.server, 'close')
  t.notOk(adapter.calls.includes('unsubscribe chat'), 'no unsubscribe while a subscriber remains')
  c.client.terminate()
  await once(c.server, 'close')
  t.same(adapter.calls.filter(c => c.startsWith('unsubscribe')), ['unsubscribe chat'], 'one unsubscribe, when the last one left')

  await app.close()
  t.equal(adapter.calls.at(-1), 'close', 'closed with the app')
})

t.test('an adapter whose publish rejects is logged, not thrown', async t => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(websocket, {
    pubsub: {
      start () {},
      publish () { return Promise.reject(new Error('redis is down')) },
      subscribe () { return Promise.reject(new Error('cannot subscribe')) }
    }
  })
  app.get('/ws', { websocket: true }, socket => { socket.subscribe('t') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const client = new WS(`ws://127.0.0.1:${port}/ws`)
  await once(client, 'open')
  t.doesNotThrow(() => app.websocketPublish('t', 'x'))
  await new Promise(resolve => setTimeout(resolve, 20))
  const logged = lines.map(l => JSON.parse(l) as { msg: string, err: { message: string } })
  t.match(logged, [
    { msg: 'pub/sub adapter subscribe failed', err: { message: 'cannot subscribe' } },
    { msg: 'pub/sub adapter publish failed', err: { message: 'redis is down' } }
  ])
  client.close()
})
