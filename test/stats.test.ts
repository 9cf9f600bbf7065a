// app.websocketStats() and socket.stats (lib/stats.ts): the always-on counters, asserted over real
// sockets against a `ws` peer in another process. Byte counts are exact: each frame's size is
// known (a client frame of n < 126 bytes is 2 + 4 (mask) + n on the wire, a server frame 2 + n).
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startApp, waitFor } from './helpers/app'
import { startWsPeer } from './helpers/ws-peer'
import type { WebSocket } from '../lib/index'

function echoRoutes (app: FastifyInstance, sockets: WebSocket[]): void {
  app.get('/echo', { websocket: true }, socket => {
    sockets.push(socket)
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
  app.get('/bye', { websocket: true }, socket => {
    socket.once('message', () => socket.close(4002, 'bye'))
  })
  app.get('/deflate', { websocket: { perMessageDeflate: true, message (socket, data) { socket.send(data.toString()) } } })
  app.get('/room', { websocket: true }, socket => { socket.subscribe('room') })
  app.get('/private', {
    websocket: true,
    onRequest: async (_req, reply) => { await reply.code(401).send({ error: 'no' }) }
  }, () => {})
}

t.test('the counters count connections, messages, bytes and close codes per route over a real socket', async t => {
  const sockets: WebSocket[] = []
  const { app, ws } = await startApp(t, a => echoRoutes(a, sockets))
  const peer = await startWsPeer(t)

  await peer.ask({ cmd: 'open', name: 'a', url: ws('/echo') })
  await peer.ask({ cmd: 'send', name: 'a', count: 5, size: 100 })
  await peer.ask({ cmd: 'received', name: 'a', count: 5 })
  let stats = app.websocketStats()
  t.equal(stats.open, 1, 'one socket open')
  t.equal(stats.routes['/echo'].open, 1, 'on /echo')
  t.equal(stats.routes['/bye'].open, 0, 'none on /bye')
  t.equal(stats.handshakes.accepted, 1, 'one handshake accepted')
  t.equal(stats.messagesIn, 5, 'five messages in while open')
  t.equal(stats.messagesOut, 5, 'five messages out while open')
  t.equal(stats.bytesIn, 5 * 106, 'five masked frames of 100 bytes read')
  t.equal(stats.bytesOut, 5 * 102, 'five frames of 100 bytes written')
  t.same(sockets[0].stats, { messagesIn: 5, messagesOut: 5, bytesIn: 530, bytesOut: 510, compressionSavedIn: 0, compressionSavedOut: 0, queuedBytes: 0 },
    'socket.stats says the same of the one socket')

  t.same(await peer.ask({ cmd: 'close', name: 'a', code: 4001, reason: 'done' }), { code: 4001, reason: '' }, 'the peer closes with 4001, echoed')
  await waitFor(() => app.websocketStats().open === 0, 5000, 'the socket to close')
  stats = app.websocketStats()
  t.equal(stats.routes['/echo'].messagesIn, 5, 'the closed socket\'s messages stay counted')
  t.equal(stats.bytesIn, 530 + 2 + 4 + 2 + 4, 'and its bytes, with the close frame (code and "done")')
  t.equal(stats.bytesOut, 510 + 2 + 2, 'the echoed close frame carries the code alone')
  t.same(stats.closeCodesReceived, { 4001: 1 }, 'close code received: 4001')
  t.same(stats.closeCodesSent, { 4001: 1 }, 'close code sent: the echo of 4001')

  await peer.ask({ cmd: 'open', name: 'b', url: ws('/bye') })
  await peer.ask({ cmd: 'send', name: 'b', count: 1, size: 1 })
  t.same(await peer.ask({ cmd: 'closed', name: 'b' }), { code: 4002, reason: 'bye' }, 'the server closes /bye with 4002')
  await waitFor(() => app.websocketStats().open === 0, 5000, 'the socket to close')
  stats = app.websocketStats()
  t.same(stats.routes['/bye'].closeCodesSent, { 4002: 1 }, 'sent 4002 on /bye')
  t.same(stats.routes['/bye'].closeCodesReceived, { 4002: 1 }, 'and read the peer\'s echo')
  t.equal(stats.handshakes.accepted, 2, 'two handshakes accepted')
  t.equal(stats.routes['/echo'].accepted, 1, 'one per route')

  await peer.ask({ cmd: 'open', name: 'c', url: ws('/echo') })
  await peer.ask({ cmd: 'terminate', name: 'c' })
  await waitFor(() => app.websocketStats().open === 0, 5000, 'the socket to close')
  t.same(app.websocketStats().routes['/echo'].closeCodesReceived, { 4001: 1 }, 'a connection dropped without a close frame adds no code')
})

t.test('refused handshakes are counted by HTTP status', async t => {
  const { app, ws } = await startApp(t, a => echoRoutes(a, []))
  const peer = await startWsPeer(t)
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/private') }), { refused: 401 }, 'a hook refuses with 401')
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/private') }), { refused: 401 }, 'twice')
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/nowhere') }), { refused: 404 }, 'no such route: 404')
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/echo') }), { opened: true, protocol: '', extensions: '' }, 'an accepted one')
  const stats = app.websocketStats()
  t.same(stats.handshakes, { accepted: 1, refused: { 401: 2, 404: 1 } }, 'two 401s, one 404, one accepted')
})

t.test('compression savings are counted each way', async t => {
  const { app, ws } = await startApp(t, a => echoRoutes(a, []))
  const peer = await startWsPeer(t)
  const opened = await peer.ask<{ extensions: string }>({ cmd: 'open', name: 'z', url: ws('/deflate'), deflate: true })
  t.match(opened.extensions, /permessage-deflate/, 'permessage-deflate agreed')
  await peer.ask({ cmd: 'send', name: 'z', count: 4, size: 10_000 })
  await peer.ask({ cmd: 'received', name: 'z', count: 4 })
  const stats = app.websocketStats()
  t.equal(stats.messagesIn, 4, 'four messages in')
  t.ok(stats.bytesIn < 4 * 1000, `40 000 bytes of text arrived in ${stats.bytesIn} bytes`)
  t.ok(stats.compressionSavedIn > 4 * 9000, `saved ${stats.compressionSavedIn} bytes in`)
  t.ok(stats.compressionSavedOut > 4 * 9000, `saved ${stats.compressionSavedOut} bytes out`)
  t.ok(stats.bytesOut < 4 * 1000, `40 000 bytes echoed in ${stats.bytesOut} bytes`)
})

t.test('subscribers per topic and the adapter state are reported', async t => {
  const { app, ws } = await startApp(t, a => echoRoutes(a, []))
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'r1', url: ws('/room') })
  await peer.ask({ cmd: 'open', name: 'r2', url: ws('/room') })
  await waitFor(() => app.websocketSubscribers('room').size === 2, 5000, 'two subscribers')
  app.websocketPublish('room', 'hello')
  await peer.ask({ cmd: 'received', name: 'r1', count: 1 })
  await peer.ask({ cmd: 'received', name: 'r2', count: 1 })
  let stats = app.websocketStats()
  t.same(stats.topics, { room: 2 }, 'two subscribers of room')
  t.same(stats.adapter, { name: 'MemoryAdapter', connected: true }, 'the in-process adapter, connected')
  t.equal(stats.routes['/room'].messagesOut, 2, 'a broadcast counts once per socket it is queued on')
  t.equal(stats.routes['/room'].bytesOut, 2 * 7, 'one 7-byte frame each')
  await peer.ask({ cmd: 'close', name: 'r1', code: 1000 })
  await waitFor(() => app.websocketSubscribers('room').size === 1, 5000, 'one subscriber left')
  stats = app.websocketStats()
  t.same(stats.topics, { room: 1 }, 'one subscriber once the other closed')
})

t.test('backpressure drops and closes are counted, and the close code 1008 sent', async t => {
  let dropped = 0
  const { app, ws } = await startApp(t, a => {
    for (const policy of ['drop', 'close'] as const) {
      a.get(`/flood-${policy}`, { websocket: { maxBackpressure: 64 * 1024, backpressurePolicy: policy } }, () => {})
    }
  }, { register: true })
  // the routes above take a handler object, so the flood is started from the message handler
  // declared after listen: each route's sockets flood on their first message
  app.websocketServer.on('connection', (socket: WebSocket) => {
    socket.once('message', () => {
      for (let i = 0; i < 100; i++) if (!socket.send(Buffer.alloc(64 * 1024))) dropped++
    })
  })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'd', url: ws('/flood-drop') })
  await peer.ask({ cmd: 'pause', name: 'd' })
  await peer.ask({ cmd: 'send', name: 'd', count: 1, size: 1 })
  await waitFor(() => dropped > 0, 5000, 'sends to be dropped')
  let stats = app.websocketStats()
  t.ok(dropped > 0, `${dropped} of 100 sends of 64 KiB dropped`)
  t.equal(stats.routes['/flood-drop'].backpressureDrops, dropped, 'each counted as a drop')
  const buffered = [...app.websocketClients].reduce((n, s) => n + s.bufferedAmount, 0)
  t.equal(stats.queuedBytes, buffered, `queuedBytes is what the open sockets buffer (${buffered} bytes)`)
  t.equal(stats.routes['/flood-drop'].open, 1, 'the connection lives on')
  await peer.ask({ cmd: 'resume', name: 'd' })

  await peer.ask({ cmd: 'open', name: 'c', url: ws('/flood-close') })
  await peer.ask({ cmd: 'pause', name: 'c' })
  await peer.ask({ cmd: 'send', name: 'c', count: 1, size: 1 })
  await waitFor(() => app.websocketStats().routes['/flood-close'].backpressureCloses === 1, 5000, 'the close policy')
  await peer.ask({ cmd: 'resume', name: 'c' })
  t.equal((await peer.ask<{ code: number }>({ cmd: 'closed', name: 'c' })).code, 1008, 'the peer reads 1008')
  await waitFor(() => app.websocketStats().routes['/flood-close'].open === 0, 5000, 'the socket to close')
  stats = app.websocketStats()
  t.equal(stats.routes['/flood-close'].backpressureCloses, 1, 'one close by the policy')
  t.same(stats.routes['/flood-close'].closeCodesSent, { 1008: 1 }, 'close code sent: 1008')
})
