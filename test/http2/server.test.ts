// WebSockets over HTTP/2 (RFC 8441) on `Fastify({ http2: true })` (h2c), against a client in
// another process (fixtures/h2-peer.js: node:http2 and ws's frame codec): the handshake goes
// through Fastify's routing and hooks, the engine runs over the stream, streams of one session
// are independent, and app.close() closes each WebSocket with 1001, then the session.
import t from 'tap'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { startApp, waitFor } from '../helpers/app'
import { startPeer } from '../helpers/h2-peer'

const H2C = { fastify: { http2: true } as FastifyServerOptions }

function echoRoutes (app: FastifyInstance, log: { versions: string[], closes: number[] }): void {
  app.get('/echo', {
    schema: { querystring: { type: 'object', properties: { room: { type: 'string', maxLength: 8 } } } },
    onRequest: async (req, reply) => {
      if (req.headers.authorization === 'no') return reply.code(401).header('x-why', 'token').send({ error: 'who are you' })
    },
    websocket: {
      protocols: ['chat.v2', 'chat.v1'],
      allowedOrigins: ['https://good.example'],
      open (socket, req) {
        log.versions.push(req.raw.httpVersion)
        socket.send(`hello ${socket.protocol} ${(req.query as { room?: string }).room ?? '-'}`)
      },
      message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) },
      close (_socket, code) { log.closes.push(code) }
    }
  })
}

t.test('the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL only when it has WebSocket routes', async t => {
  const withRoute = await startApp(t, app => { app.get('/ws', { websocket: true }, () => {}) }, H2C)
  const without = await startApp(t, app => { app.get('/plain', async () => 'plain') }, H2C)
  const a = await startPeer(t, withRoute.http(''))
  const b = await startPeer(t, without.http(''))
  t.equal((await a.take(r => r.ev === 'settings', 'settings')).enableConnectProtocol, true)
  t.equal((await b.take(r => r.ev === 'settings', 'settings')).enableConnectProtocol, false)
})

t.test('an extended CONNECT runs through routing, hooks and the subprotocol choice, then echoes both ways', async t => {
  const log = { versions: [] as string[], closes: [] as number[] }
  const server = await startApp(t, app => echoRoutes(app, log), H2C)
  const peer = await startPeer(t, server.http(''))
  const res = await peer.open(1, '/echo?room=blue', { headers: { 'sec-websocket-protocol': 'chat.v1, chat.v2', origin: 'https://good.example' } })
  t.equal(res.ev, 'response')
  t.equal(res.status, 200, 'RFC 8441 section 5: a 200')
  t.equal(res.headers?.['sec-websocket-protocol'], 'chat.v2', 'the route preference wins')
  t.notOk('sec-websocket-accept' in (res.headers ?? {}), 'no Sec-WebSocket-Accept over HTTP/2')
  t.equal(await peer.message(1), 'hello chat.v2 blue')
  t.same(log.versions, ['2.0'], 'the route saw an HTTP/2 request')
  peer.send(1, 'ping over h2')
  t.equal(await peer.message(1), 'ping over h2')
  const big = 'x'.repeat(300_000) // larger than HTTP/2's initial 64 KiB window: flow control both ways
  peer.send(1, big)
  t.equal(await peer.message(1), big)
  peer.command({ op: 'close', id: 1, code: 1000, reason: 'bye' })
  t.equal((await peer.take(r => r.id === 1 && r.ev === 'conclude', 'close frame')).code, 1000)
  await peer.take(r => r.id === 1 && r.ev === 'end', 'END_STREAM from the server')
  t.equal((await peer.take(r => r.id === 1 && r.ev === 'close', 'stream closed')).rstCode, 0, 'closed cleanly, not reset')
  await waitFor(() => log.closes.length === 1)
  t.same(log.closes, [1000])
  t.equal(server.app.websocketClients.size, 0)
})

t.test('refusals are HTTP/2 responses: a hook, schema validation, the origin policy, the version, a plain route', async t => {
  const log = { versions: [] as string[], closes: [] as number[] }
  const server = await startApp(t, app => {
    echoRoutes(app, log)
    app.get('/plain', async () => 'plain')
  }, H2C)
  const peer = await startPeer(t, server.http(''))
  const good = { origin: 'https://good.example' }
  const hook = await peer.open(1, '/echo', { headers: { ...good, authorization: 'no' } })
  t.equal(hook.status, 401)
  t.equal(hook.headers?.['x-why'], 'token')
  t.same(JSON.parse(hook.body ?? ''), { error: 'who are you' })
  const schema = await peer.open(2, '/echo?room=far-too-long', { headers: good })
  t.equal(schema.status, 400)
  t.match(JSON.parse(schema.body ?? ''), { code: 'FST_ERR_VALIDATION' })
  const origin = await peer.open(3, '/echo', { headers: { origin: 'https://evil.example' } })
  t.equal(origin.status, 403)
  t.match(JSON.parse(origin.body ?? ''), { code: 'WS_ERR_HANDSHAKE_ORIGIN' })
  const version = await peer.open(4, '/echo', { headers: { ...good, 'sec-websocket-version': '8' } })
  t.equal(version.status, 426)
  t.equal(version.headers?.['sec-websocket-version'], '13', 'RFC 6455 section 4.4: the versions we speak')
  const plain = await peer.open(5, '/plain', {})
  t.equal(plain.status, 404)
  t.match(JSON.parse(plain.body ?? ''), { code: 'WS_ERR_NOT_WEBSOCKET_ROUTE' })
  const protocol = await peer.open(6, '/echo', { headers: { ...good, 'sec-websocket-protocol': 'mqtt' } })
  t.equal(protocol.status, 400)
  t.same(log.versions, [], 'no socket opened')
  // the session survived every refusal
  const ok = await peer.open(7, '/echo', { headers: good })
  t.equal(ok.status, 200)
  t.equal(await peer.message(7), 'hello  -')
})

t.test('permessage-deflate is negotiated and works both ways over a stream', async t => {
  const server = await startApp(t, app => {
    app.get('/deflate', { websocket: { message (socket, data) { socket.send(data.toString().toUpperCase()) } } })
  }, { ...H2C, plugin: { perMessageDeflate: { threshold: 0 } } })
  const peer = await startPeer(t, server.http(''))
  const res = await peer.open(1, '/deflate', { deflate: true })
  t.match(res.headers?.['sec-websocket-extensions'], /^permessage-deflate/)
  const text = 'compress me '.repeat(5000)
  peer.send(1, text)
  t.equal(await peer.message(1), text.toUpperCase())
})

t.test('a reset stream ends only its WebSocket; the others on the session go on', async t => {
  const closes: Array<[string, number]> = []
  const server = await startApp(t, app => {
    app.get('/echo', {
      websocket: {
        message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) },
        close (_socket, code, reason) { closes.push([reason.toString(), code]) }
      }
    })
  }, H2C)
  const peer = await startPeer(t, server.http(''))
  await peer.open(1, '/echo')
  await peer.open(2, '/echo')
  await peer.open(3, '/echo')
  peer.command({ op: 'reset', id: 2 })
  await waitFor(() => closes.length === 1)
  t.same(closes, [['', 1006]], 'RST_STREAM is an abnormal closure (RFC 8441 section 6)')
  peer.command({ op: 'end', id: 3 })
  await waitFor(() => closes.length === 2)
  t.same(closes[1], ['', 1006], 'END_STREAM without a close frame: 1006 too')
  peer.send(1, 'still here')
  t.equal(await peer.message(1), 'still here')
  t.equal(server.app.websocketClients.size, 1)
})

t.test('many WebSockets on one session; app.close() closes each with 1001, then the session', async t => {
  const N = 50
  const server = await startApp(t, app => {
    app.get('/echo', { websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  }, { ...H2C, teardown: false })
  const peer = await startPeer(t, server.http(''))
  await Promise.all(Array.from({ length: N }, (_, i) => peer.open(i + 1, '/echo')))
  for (let i = 1; i <= N; i++) peer.send(i, `m${i}`)
  const echoes = await Promise.all(Array.from({ length: N }, (_, i) => peer.message(i + 1)))
  t.same(echoes, Array.from({ length: N }, (_, i) => `m${i + 1}`))
  t.equal(server.app.websocketClients.size, N)
  await server.app.close()
  const codes = await Promise.all(Array.from({ length: N }, (_, i) => peer.take(r => r.id === i + 1 && r.ev === 'conclude', 'close frame')))
  t.ok(codes.every(r => r.code === 1001), 'every WebSocket got 1001 Going Away')
  await peer.take(r => r.ev === 'session-close', 'the session to close')
  t.equal(server.app.websocketClients.size, 0)
})

t.test("a GOAWAY from the peer leaves its open WebSockets running; the connection's end closes each (1006)", async t => {
  const closes: number[] = []
  const server = await startApp(t, app => {
    app.get('/echo', {
      websocket: {
        message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) },
        close (_socket, code) { closes.push(code) }
      }
    })
  }, H2C)
  const peer = await startPeer(t, server.http(''))
  await peer.open(1, '/echo')
  await peer.open(2, '/echo')
  peer.command({ op: 'goaway' })
  peer.send(1, 'after goaway')
  t.equal(await peer.message(1), 'after goaway', 'RFC 9113 section 6.8: streams already open go on')
  peer.command({ op: 'exit' })
  await waitFor(() => closes.length === 2)
  t.same(closes, [1006, 1006], 'the TCP connection went: every WebSocket on it closes abnormally')
  t.equal(server.app.websocketClients.size, 0)
})
