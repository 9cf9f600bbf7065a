// @fastify/websocket's options on this plugin: `options` (ws.Server options) mapped onto ours or
// refused at registration, unknown keys refused in the plugin options and in a route's
// `websocket` object, verifyClient and handleProtocols over real sockets, options.server.
import t from 'tap'
import { createServer } from 'node:http'
import Fastify from 'fastify'
import WS from 'ws'
import websocket from '../../lib/index'
import { startApp, openWs, messages, closed, refusedWs, rawUpgrade, captureLogs, registrationError } from '../helpers/app'

t.test('options.maxPayload is enforced: a 100-byte message past a 10-byte limit closes 1009', async t => {
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })) })
  }, { plugin: { options: { maxPayload: 10 } } })
  const client = await openWs(server.ws('/'))
  client.send('0123456789')
  t.same(await messages(client, 1), ['0123456789'], '10 bytes pass')
  const done = closed(client)
  client.send('x'.repeat(100))
  t.equal((await done).code, 1009)
})

t.test('options.perMessageDeflate in ws\'s form negotiates permessage-deflate with its parameters', async t => {
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => {
      socket.send(socket.extensions)
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
    })
  }, { plugin: { options: { perMessageDeflate: { serverNoContextTakeover: true, clientMaxWindowBits: true, zlibDeflateOptions: { level: 3 }, threshold: 0 } } } })
  const client = new WS(server.ws('/'), { perMessageDeflate: true })
  t.same(await messages(client, 1), ['permessage-deflate; server_no_context_takeover'])
  client.send('compressed '.repeat(20))
  t.same(await messages(client, 1), ['compressed '.repeat(20)])
  client.close()
})

t.test('ws.Server options without a counterpart are refused at registration, naming what to use', async t => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ noServer: true }, /noServer is not supported/],
    [{ port: 8080 }, /app\.listen/],
    [{ host: 'localhost' }, /app\.listen/],
    [{ backlog: 5 }, /app\.listen/],
    [{ maxBufferedChunks: 10 }, /maxPayload and memoryBudget/],
    [{ skipUTF8Validation: true }, /always validated/],
    [{ allowSynchronousEvents: false }, /synchronously/],
    [{ WebSocket: class {} }, /custom WebSocket class/],
    [{ perMessageDeflate: { zlibInflateOptions: {} } }, /maxInflatedSize/],
    [{ perMessageDeflate: { zlibDeflateOptions: { strategy: 1 } } }, /only level and memLevel/],
    [{ verifyClient: 'yes' }, /must be a function/],
    [{ somethingElse: 1 }, /options\.somethingElse is not a ws\.Server option/]
  ]
  for (const [options, message] of cases) {
    t.match(await registrationError({ options }), { code: 'WS_ERR_INVALID_OPTION', message }, JSON.stringify(Object.keys(options)))
  }
  t.match(await registrationError({ maxPayload: 5, options: { maxPayload: 10 } }), { code: 'WS_ERR_INVALID_OPTION', message: /give it once/ })
  t.equal(await registrationError({ options: { clientTracking: false, allowSynchronousEvents: true, skipUTF8Validation: false } }), null,
    'options that change nothing here are accepted')
})

t.test('unknown plugin options and non-function handlers are refused at registration', async t => {
  t.match(await registrationError({ maxPayLoad: 10 }), { code: 'WS_ERR_INVALID_OPTION', message: /unknown plugin option "maxPayLoad"/ })
  t.match(await registrationError({ handle: () => {} }), { code: 'WS_ERR_INVALID_OPTION', message: /wildcard route/ })
  t.match(await registrationError({ verifyClient: () => true }), { message: /options\.verifyClient/ })
  t.match(await registrationError({ errorHandler: {} }), { code: 'WS_ERR_INVALID_OPTION', message: 'invalid errorHandler function' })
  t.match(await registrationError({ preClose: 'no' }), { code: 'WS_ERR_INVALID_OPTION', message: 'invalid preClose function' })
  t.equal(await registrationError({ prefix: '/x', logLevel: 'warn' }), null, "Fastify's register options are accepted")
})

t.test('unknown keys in a route\'s websocket object are refused when the route is declared', async t => {
  for (const [spec, message] of [
    [{ schema: { body: {} } }, /unknown key "body" in websocket.schema/],
    [{ requireOrigin: true }, /"requireOrigin".*allowedOrigins/],
    [{ opne () {} }, /"opne".*known keys: open, message/]
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(websocket)
    t.throws(() => app.route({ method: 'GET', url: '/x', websocket: spec as never }), { code: 'WS_ERR_INVALID_OPTION', message }, Object.keys(spec)[0])
  }
})

t.test('options.verifyClient runs before the 101: false refuses with 401 or its own status, true upgrades', async t => {
  const seen: Array<{ origin: string | undefined, secure: boolean, header: unknown }> = []
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.send('in') })
  }, {
    plugin: {
      options: {
        verifyClient (info: { origin: string | undefined, secure: boolean, req: { headers: Record<string, unknown> } }, cb: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) {
          seen.push({ origin: info.origin, secure: info.secure, header: info.req.headers['x-key'] })
          setImmediate(() => {
            // ws's verifyClient callback takes (result, code, message, headers), not an error first
            /* eslint-disable n/no-callback-literal */
            if (info.req.headers['x-key'] === 'ok') cb(true)
            else if (info.req.headers['x-key'] === 'teapot') cb(false, 418, 'short and stout', { 'x-why': 'tea' })
            else cb(false)
            /* eslint-enable n/no-callback-literal */
          })
        }
      } as never
    }
  })
  const ok = new WS(server.ws('/'), { headers: { 'x-key': 'ok' }, origin: 'https://a.test' })
  t.same(await messages(ok, 1), ['in'])
  ok.close()
  t.same(seen[0], { origin: 'https://a.test', secure: false, header: 'ok' })
  const refused = await refusedWs(server.ws('/'))
  t.equal(refused.status, 401)
  t.match(JSON.parse(refused.body), { code: 'WS_ERR_HANDSHAKE_VERIFY' })
  const teapot = await refusedWs(server.ws('/'), undefined, { headers: { 'x-key': 'teapot' } })
  t.equal(teapot.status, 418)
  t.equal(teapot.headers['x-why'], 'tea')
  t.match(JSON.parse(teapot.body), { message: /short and stout/ })

  const sync = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.send('in') })
  }, { plugin: { options: { verifyClient: (info: { req: { headers: Record<string, unknown> } }) => info.req.headers['x-key'] === 'ok' } } })
  t.equal((await refusedWs(sync.ws('/'))).status, 401, 'the one-argument form returns its verdict')
  const in2 = new WS(sync.ws('/'), { headers: { 'x-key': 'ok' } })
  t.same(await messages(in2, 1), ['in'])
  in2.close()

  const promised = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.send('in') })
  }, { plugin: { options: { verifyClient: async (info: { req: { headers: Record<string, unknown> } }) => info.req.headers['x-key'] === 'ok' } } })
  t.equal((await refusedWs(promised.ws('/'))).status, 401, 'a promise of the verdict is awaited')
  const in3 = new WS(promised.ws('/'), { headers: { 'x-key': 'ok' } })
  t.same(await messages(in3, 1), ['in'])
  in3.close()
})

t.test('options.handleProtocols picks the subprotocol from a Set of the offered ones; routes with protocols decide for themselves', async t => {
  const offered: string[][] = []
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.send(`chose ${socket.protocol}`) })
    app.get('/own', { websocket: { protocols: ['own'], open (socket) { socket.send(`chose ${socket.protocol}`) } } })
  }, {
    plugin: {
      options: {
        handleProtocols (protocols, request) {
          offered.push([...protocols, String(request.url)])
          return protocols.has('b') ? 'b' : false
        }
      }
    }
  })
  const a = new WS(server.ws('/'), ['a', 'b'])
  t.same(await messages(a, 1), ['chose b'])
  t.equal(a.protocol, 'b')
  a.close()
  const none = await rawUpgrade(server.port, '/', { 'sec-websocket-protocol': 'a' })
  none.socket.destroy()
  t.equal(none.response.status, 101, 'false: the upgrade goes ahead without a subprotocol (as ws)')
  t.equal(none.response.headers['sec-websocket-protocol'], undefined)
  t.same(offered, [['a', 'b', '/'], ['a', '/']])
  const own = await openWs(server.ws('/own'), ['own', 'b'])
  t.equal(own.protocol, 'own')
  own.close()
  t.equal(offered.length, 2, 'not asked for a route with its own protocols')
})

t.test('options.server: upgrades arriving on another HTTP server are routed through the app; its listener goes at close', async t => {
  const other = createServer()
  t.teardown(() => other.close())
  await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
  const app = Fastify()
  await app.register(websocket, { options: { server: other } })
  app.get('/echo', { websocket: true }, socket => { socket.on('message', data => socket.send(data.toString())) })
  await app.ready()
  t.equal(other.listenerCount('upgrade'), 1)
  const { port } = other.address() as { port: number }
  const client = await openWs(`ws://127.0.0.1:${port}/echo`)
  client.send('via the other server')
  t.same(await messages(client, 1), ['via the other server'])
  const done = closed(client)
  await app.close()
  t.equal((await done).code, 1001)
  t.equal(other.listenerCount('upgrade'), 0)
})

t.test('options.path is ignored with a warning, as @fastify/websocket does', async t => {
  const logs = captureLogs()
  const server = await startApp(t, app => {
    app.get('/here', { websocket: true }, socket => { socket.send('routed by Fastify') })
  }, { plugin: { options: { path: '/elsewhere' } }, fastify: { logger: { stream: logs.stream, level: 'warn' } } })
  t.ok(logs.lines.some(l => l.level === 40 && /path option shouldn't be provided/.test(String(l.msg))))
  const client = new WS(server.ws('/here'))
  t.same(await messages(client, 1), ['routed by Fastify'])
  client.close()
})
