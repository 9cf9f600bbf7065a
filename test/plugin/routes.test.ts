// Declaring WebSocket routes: `websocket: true` and handler objects through app.get and
// app.route, plain GET and HEAD on them, upgrades to routes that are not WebSocket routes, held
// messages during an async open, subprotocols, origins and per-route option overrides.
import t from 'tap'
import Fastify from 'fastify'
import WS from 'ws'
import websocket, { type WebSocket } from '../../lib/index'
import { startApp, rawRequest, rawUpgrade, refusedWs, openWs, messages, closed, sleep, captureLogs } from '../helpers/app'

function echo (socket: WebSocket): void {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
}

t.test('websocket: true works through app.get and app.route', async t => {
  const server = await startApp(t, app => {
    app.get('/get', { websocket: true }, (socket, req) => { socket.send(`get ${req.url}`) })
    app.route({ method: 'GET', url: '/route', websocket: true, handler: ((socket: WebSocket, req: { url: string }) => { socket.send(`route ${req.url}`) }) as never })
  })
  const a = new WS(server.ws('/get?x=1'))
  const b = new WS(server.ws('/route'))
  t.same(await messages(a, 1), ['get /get?x=1'])
  t.same(await messages(b, 1), ['route /route'])
  t.equal(server.app.websocketClients.size, 2)
  a.close()
  b.close()
})

t.test('handler objects serve plain GETs with their handler, or 426 without one', async t => {
  const server = await startApp(t, app => {
    app.route({
      method: 'GET',
      url: '/with',
      websocket: { open (socket) { socket.send('opened with') }, message (socket, data) { socket.send(`echo ${data.toString()}`) } },
      handler: async () => ({ hint: 'connect with a WebSocket' })
    })
    app.route({ method: 'GET', url: '/without', websocket: { open (socket) { socket.send('opened without') } } })
    app.get('/shorthand', { websocket: { open (socket) { socket.send('opened shorthand') } } })
  })
  const plain = await fetch(server.http('/with'))
  t.equal(plain.status, 200)
  t.same(await plain.json(), { hint: 'connect with a WebSocket' })
  for (const path of ['/without', '/shorthand']) {
    const res = await fetch(server.http(path))
    t.equal(res.status, 426, `plain GET ${path}`)
    t.equal(res.headers.get('upgrade'), 'websocket')
    t.match(await res.json(), { code: 'WS_ERR_UPGRADE_REQUIRED' })
  }

  const client = new WS(server.ws('/with'))
  t.same(await messages(client, 1), ['opened with'])
  client.send('x')
  t.same(await messages(client, 1), ['echo x'])
  client.close()
  for (const path of ['/without', '/shorthand']) {
    const c = new WS(server.ws(path))
    t.same(await messages(c, 1), [`opened ${path.slice(1)}`])
    c.close()
  }
})

t.test('a plain GET on a websocket: true route gets 426 and a HEAD 404 (as @fastify/websocket); HEAD on a handler object route runs its handler', async t => {
  let socketHandlerCalls = 0
  const server = await startApp(t, app => {
    app.get('/ws', { websocket: true }, () => { socketHandlerCalls++ })
    app.route({ method: 'GET', url: '/both', websocket: {}, handler: async (_req, reply) => reply.header('x-plain', '1').send('plain body') })
  })
  const get = await fetch(server.http('/ws'))
  t.equal(get.status, 426)
  const head = await fetch(server.http('/ws'), { method: 'HEAD' })
  t.equal(head.status, 404)
  t.equal(socketHandlerCalls, 0, 'the (socket, req) handler is never called with a plain request')
  const headBoth = await fetch(server.http('/both'), { method: 'HEAD' })
  t.equal(headBoth.status, 200)
  t.equal(headBoth.headers.get('x-plain'), '1')
  t.equal(await headBoth.text(), '', 'HEAD has no body')
})

t.test('an upgrade to a route without the websocket option is refused with 404, never upgraded', async t => {
  const logs = captureLogs()
  let plainCalls = 0
  const server = await startApp(t, app => {
    app.get('/plain', async () => { plainCalls++; return { plain: true } })
  }, { fastify: { logger: { level: 'warn', stream: logs.stream } } })
  const res = await rawRequest(server.port, '/plain')
  t.equal(res.status, 404)
  t.match(JSON.parse(res.body), { code: 'WS_ERR_NOT_WEBSOCKET_ROUTE' })
  t.equal(plainCalls, 0)
  t.match(logs.text(), /route without the websocket option/)
  const unknown = await rawRequest(server.port, '/nowhere')
  t.equal(unknown.status, 404)
  t.equal(server.app.websocketClients.size, 0)
  // the plain route still works as plain HTTP
  t.same(await (await fetch(server.http('/plain'))).json(), { plain: true })
})

t.test('a websocket route declared before the plugin is registered: the upgrade is refused over HTTP', async t => {
  // Documented behaviour: the plugin's onRoute hook never saw the route, so it is a plain route;
  // the plugin's root onRequest hook still applies to it and refuses the upgrade with 404 (see
  // README, "Register the plugin before declaring WebSocket routes"). The (socket, req)
  // handler is never called with an upgrade.
  let calls = 0
  const server = await startApp(t, async app => {
    app.get('/early', { websocket: true }, () => { calls++ })
    await app.register(websocket)
  }, { register: false })
  const res = await rawRequest(server.port, '/early')
  t.ok(res.status >= 400 && res.status < 600, `HTTP error ${res.status}`)
  t.not(res.status, 101)
  t.equal(res.status, 404)
  t.match(JSON.parse(res.body), { code: 'WS_ERR_NOT_WEBSOCKET_ROUTE' })
  t.equal(calls, 0)
  t.equal(server.app.websocketClients.size, 0)
})

t.test('a websocket route with a method other than GET fails at startup', async t => {
  for (const method of ['POST', ['GET', 'POST']] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(websocket)
    await t.rejects(async () => {
      app.route({ method: method as never, url: '/x', websocket: true, handler: () => {} })
      await app.ready()
    }, { code: 'WS_ERR_INVALID_OPTION', message: /only be declared in GET method/ }, `method ${String(method)}`)
  }
})

t.test('messages sent right after open while an async handler awaits are delivered afterwards, in order', async t => {
  const N = 40
  const server = await startApp(t, app => {
    app.get('/slow-handler', { websocket: true }, async socket => {
      await sleep(100)
      const got: string[] = []
      socket.on('message', data => {
        got.push(data.toString())
        if (got.length === N) socket.send(got.join(','))
      })
    })
    app.get('/slow-open', {
      websocket: {
        async open () { await sleep(100) },
        message (socket, data) { socket.send(`m:${data.toString()}`) }
      }
    })
  })
  const expected = Array.from({ length: N }, (_, i) => String(i))
  const a = await openWs(server.ws('/slow-handler'))
  for (const m of expected) a.send(m)
  t.same(await messages(a, 1), [expected.join(',')])
  const b = await openWs(server.ws('/slow-open'))
  for (const m of expected) b.send(m)
  t.same(await messages(b, N), expected.map(m => `m:${m}`))
  a.close()
  b.close()
})

t.test('subprotocols: server preference, selectProtocol, refusal with 400, requireProtocol false', async t => {
  const serverProtocols: string[] = []
  const record = (socket: WebSocket): void => { serverProtocols.push(socket.protocol) }
  const server = await startApp(t, app => {
    app.get('/pref', { websocket: { protocols: ['chat.v2', 'chat.v1'], open: record } })
    app.get('/select', {
      websocket: {
        selectProtocol: (offered, req) => offered.find(p => p === req.headers['x-want']) ?? false,
        open: record
      }
    })
    app.get('/optional', { websocket: { protocols: ['chat.v2'], requireProtocol: false, open: record } })
  })
  const pref = await openWs(server.ws('/pref'), ['chat.v1', 'chat.v2'])
  t.equal(pref.protocol, 'chat.v2', 'the server\'s preference wins over the client\'s order')
  const sel = await openWs(server.ws('/select'), ['a', 'b', 'c'], { headers: { 'x-want': 'b' } })
  t.equal(sel.protocol, 'b')
  const none = await refusedWs(server.ws('/pref'), ['chat.v9', 'token.s3cret'])
  t.equal(none.status, 400)
  t.match(JSON.parse(none.body), { code: 'WS_ERR_HANDSHAKE_PROTOCOL' })
  t.notMatch(none.body, 's3cret', 'the refusal does not echo what was offered (a token may ride as a subprotocol)')
  const selNone = await refusedWs(server.ws('/select'), ['a'], { headers: { 'x-want': 'z' } })
  t.equal(selNone.status, 400)
  // ws (like browsers) fails a 101 without a subprotocol when it offered one: read it raw
  const optional = await rawUpgrade(server.port, '/optional', { 'sec-websocket-protocol': 'chat.v9' })
  t.equal(optional.response.status, 101, 'requireProtocol: false proceeds')
  t.notOk(optional.response.headers['sec-websocket-protocol'], 'with no subprotocol')
  optional.socket.destroy()
  const noOffer = await openWs(server.ws('/pref'))
  t.equal(noOffer.protocol, '', 'a client offering no subprotocol is accepted')
  t.same(serverProtocols, ['chat.v2', 'b', '', ''], 'socket.protocol on the server side')
  for (const c of [pref, sel, noOffer]) c.close()
})

t.test('allowedOrigins as a list, a sync function and an async function refuse other origins with 403', async t => {
  const server = await startApp(t, app => {
    app.get('/list', { websocket: { allowedOrigins: ['https://good.example', 'https://*.trusted.example'], open (s) { s.send('ok') } } })
    app.get('/sync', { websocket: { allowedOrigins: origin => origin === 'https://good.example', open (s) { s.send('ok') } } })
    app.get('/async', {
      websocket: {
        allowedOrigins: async (origin, req) => { await sleep(5); return origin === 'https://good.example' && (req as { url: string }).url === '/async' },
        open (s) { s.send('ok') }
      }
    })
  })
  for (const path of ['/list', '/sync', '/async']) {
    const good = new WS(server.ws(path), { origin: 'https://good.example' })
    t.same(await messages(good, 1), ['ok'], `${path} accepts the allowed origin`)
    good.close()
    const bad = await refusedWs(server.ws(path), undefined, { origin: 'https://evil.example' })
    t.equal(bad.status, 403, `${path} refuses another origin`)
    t.match(JSON.parse(bad.body), { code: 'WS_ERR_HANDSHAKE_ORIGIN' })
  }
  const sub = new WS(server.ws('/list'), { origin: 'https://a.trusted.example' })
  t.same(await messages(sub, 1), ['ok'], 'wildcard subdomain')
  sub.close()
  t.equal((await rawRequest(server.port, '/sync', { origin: 'null' })).status, 403)
})

t.test('route options override plugin options: maxPayload closes 1009 only on the small route', async t => {
  const server = await startApp(t, app => {
    app.get('/small', { websocket: { maxPayload: 100, message (s, d) { s.send(d) } } })
    app.get('/big', { websocket: true }, echo)
  }, { plugin: { maxPayload: 1000 } })
  const payload = Buffer.alloc(200, 1)
  const big = await openWs(server.ws('/big'))
  big.send(payload)
  t.same(await messages(big, 1), [payload])
  big.send(Buffer.alloc(1001))
  t.equal((await closed(big)).code, 1009, 'the plugin limit applies to routes that do not override it')
  const small = await openWs(server.ws('/small'))
  small.send(Buffer.alloc(100, 2))
  t.same(await messages(small, 1), [Buffer.alloc(100, 2)], 'exactly maxPayload is accepted')
  small.send(payload)
  t.equal((await closed(small)).code, 1009)
})
