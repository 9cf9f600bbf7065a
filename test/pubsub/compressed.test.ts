// A published message is compressed once for every subscriber that can share it (no server
// context takeover, same zlib settings), sent plain to the others, and keeps its place in each
// socket's order while it compresses.
import t from 'tap'
import Fastify from 'fastify'
import WS from 'ws'
import websocket from '../../lib/index'
import * as deflate from '../../lib/engine/deflate'
import { sessionOf } from '../../lib/session'
import { decodeFrames } from '../helpers/frames'
import { pubsubHarness } from '../helpers/pubsub'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'

interface Client { client: WS, wire: Buffer[], got: string[] }

function open (url: string, perMessageDeflate: WS.PerMessageDeflateOptions | boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new WS(url, { perMessageDeflate })
    const wire: Buffer[] = []
    const got: string[] = []
    client.on('message', (data: Buffer) => got.push(data.toString()))
    client.once('upgrade', res => res.socket.prependListener('data', (c: Buffer) => wire.push(Buffer.from(c))))
    client.once('open', () => resolve({ client, wire, got }))
    client.once('error', reject)
  })
}

async function until (check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise(resolve => setTimeout(resolve, 20))
}

t.test('one deflate per publish for all sharing subscribers, plain frames for the rest, order kept', async t => {
  const app = Fastify()
  await app.register(websocket, { perMessageDeflate: { serverNoContextTakeover: true, threshold: 100 } })
  app.get('/', { websocket: { open (socket) { socket.subscribe('news') } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`

  const sharing = await Promise.all([1, 2, 3, 4].map(() => open(url, { serverNoContextTakeover: true })))
  const plain = await open(url, false)
  await until(() => app.websocketSubscribers('news').size === 5)

  const original = deflate.deflateOnce
  let calls = 0
  ;(deflate as { deflateOnce: typeof original }).deflateOnce = (...args: Parameters<typeof original>) => { calls++; original(...args) }
  t.teardown(() => { (deflate as { deflateOnce: typeof original }).deflateOnce = original })

  const big = 'breaking news, compressible and long. '.repeat(200)
  app.websocketPublish('news', big)
  // sent right after the publish, while it compresses: must arrive after it
  for (const socket of app.websocketSubscribers('news')) socket.send('after')
  app.websocketPublish('news', 'short') // under the threshold: plain for everyone

  const all = [...sharing, plain]
  await until(() => all.every(c => c.got.length === 3))
  for (const c of all) t.same(c.got, [big, 'after', 'short'], 'every subscriber, in order')
  t.equal(calls, 1, 'compressed once for the four sharing subscribers')
  for (const c of sharing) {
    const frames = decodeFrames(Buffer.concat(c.wire))
    t.same(frames.map(f => f.rsv), [4, 0, 0], 'the broadcast arrived compressed (RSV1)')
    t.ok(frames[0].payload.length < big.length / 5)
  }
  t.same(decodeFrames(Buffer.concat(plain.wire)).map(f => f.rsv), [0, 0, 0], 'no deflate negotiated: plain')
  for (const c of all) c.client.close()
})

t.test('subscribers with context takeover get the plain frame, never a shared compressed one', async t => {
  const app = Fastify()
  await app.register(websocket, { perMessageDeflate: { threshold: 0, serverNoContextTakeover: false } })
  app.get('/', { websocket: { open (socket) { socket.subscribe('t') } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`
  const c = await open(url, true)
  await until(() => app.websocketSubscribers('t').size === 1)
  app.websocketPublish('t', 'x'.repeat(5000))
  await until(() => c.got.length === 1)
  t.equal(c.got[0].length, 5000)
  t.same(decodeFrames(Buffer.concat(c.wire)).map(f => f.rsv), [0])
  c.client.close()
})

t.test("a sharing subscriber closed by the 'close' backpressure policy leaves its topic at once", async t => {
  const limit = 128 * 1024
  const { app, connect } = await pubsubHarness(t, {
    perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 },
    maxBackpressure: limit,
    backpressurePolicy: 'close'
  })
  const fast = await connect()
  const slow = await connect()
  t.not(sessionOf(slow.server).conn.deflateCodec?.shareKey ?? null, null, 'it shares compressed broadcasts')
  fast.server.subscribe('flood')
  slow.server.subscribe('flood')
  const slowTcp = (slow.client as unknown as { _socket: Socket })._socket
  slowTcp.pause()

  // random base64 barely compresses, so the slow socket's queue grows with every publish
  let sent = 0
  while (slow.server.readyState === WS.OPEN && sent < 4000) {
    app.websocketPublish('flood', `${sent} ${randomBytes(12 * 1024).toString('base64')}`)
    await fast.receivedCount(++sent)
  }
  t.not(slow.server.readyState, WS.OPEN, `the policy closed the slow socket (after ${sent} messages)`)
  t.same([...app.websocketSubscribers('flood')], [fast.server], 'it left the topic when the policy closed it')
  t.equal(slow.server.topics.size, 0)
  app.websocketPublish('flood', 'still delivered')
  await fast.receivedCount(sent + 1)
  t.equal(fast.received.at(-1), 'still delivered', 'the other subscriber carries on')
})
