// What works the same over an HTTP/2 stream as over TCP: pub/sub across streams of one
// connection and another connection, the heartbeat (our ping, the peer's automatic pong),
// maxPayload (1009), and a server-side close. Peers run in another process.
import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import type { WebSocket } from '../../lib/index'
import { startApp, waitFor } from '../helpers/app'
import { startPeer } from '../helpers/h2-peer'

const H2C = { fastify: { http2: true } as FastifyServerOptions }

t.test('pub/sub reaches subscribers on streams of one connection and of another', async t => {
  const server = await startApp(t, app => {
    app.get('/room', {
      websocket: {
        open (socket) { socket.subscribe('room') },
        message (socket, data) { socket.publish('room', data.toString()) }
      }
    })
  }, H2C)
  const a = await startPeer(t, server.http(''))
  const b = await startPeer(t, server.http(''))
  await a.open(1, '/room')
  await a.open(2, '/room')
  await b.open(1, '/room')
  await waitFor(() => server.app.websocketSubscribers('room').size === 3)
  a.send(1, 'to the room')
  t.equal(await a.message(2), 'to the room', 'another stream of the same connection')
  t.equal(await b.message(1), 'to the room', 'a stream of another connection')
  server.app.websocketPublish('room', 'from the app')
  t.same(await Promise.all([a.message(1), a.message(2), b.message(1)]), ['from the app', 'from the app', 'from the app'])
})

t.test('the heartbeat pings over the stream and the peer answers; maxPayload closes 1009', async t => {
  let socket: WebSocket | null = null
  const closes: number[] = []
  const server = await startApp(t, app => {
    app.get('/ws', {
      websocket: {
        maxPayload: 1000,
        open (s) { socket ??= s },
        close (_s, code) { closes.push(code) }
      }
    })
  }, { ...H2C, plugin: { heartbeat: { interval: 200, timeout: 2000 } } })
  const peer = await startPeer(t, server.http(''))
  await peer.open(1, '/ws')
  await waitFor(() => socket !== null && (socket.latency ?? 0) > 0, 5000, 'a pong')
  t.ok((socket as unknown as WebSocket).latency > 0, 'a pong came back over the stream: the round trip is measured')
  peer.send(1, 'y'.repeat(2000))
  t.equal((await peer.take(r => r.id === 1 && r.ev === 'conclude', 'close frame')).code, 1009)
  await peer.take(r => r.id === 1 && r.ev === 'close', 'the stream to close')
  await waitFor(() => closes.length === 1)
  t.same(closes, [1006], 'failing, the server read no close frame after its own (RFC 6455 section 7.1.5), as over TCP')
})
