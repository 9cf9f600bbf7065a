// @fastify/websocket's route and instance API on this plugin, over real sockets: wsHandler
// routes, GET+HEAD method arrays, schema.hide, request.ws, the errorHandler with its four
// arguments, preClose, app.websocketServer and injectWS's third argument.
import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import WS from 'ws'
import websocket, { type WebSocket } from '../../lib/index'
import { startApp, messages, closed, rawRequest, rawUpgrade, waitEvent } from '../helpers/app'

t.test('a wsHandler route upgrades WebSocket requests and serves plain GET and HEAD with its handler', async t => {
  const server = await startApp(t, app => {
    app.route({
      method: 'GET',
      url: '/both',
      handler: async (_req, reply) => reply.header('x-plain', '1').send('plain'),
      wsHandler (socket, request) {
        socket.send(`ws ${request.url} ${String(this === app)}`)
      }
    })
  })
  const client = new WS(server.ws('/both'))
  t.same(await messages(client, 1), ['ws /both true'])
  client.close()
  const get = await fetch(server.http('/both'))
  t.equal(await get.text(), 'plain')
  const head = await fetch(server.http('/both'), { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers.get('x-plain'), '1')
})

t.test('a wsHandler that is not a function, or beside websocket, is refused when declared', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(websocket)
  t.throws(() => app.route({ method: 'GET', url: '/a', handler: async () => 'x', wsHandler: 'no' as never }),
    { code: 'WS_ERR_INVALID_OPTION', message: 'invalid wsHandler function' })
  t.throws(() => app.route({ method: 'GET', url: '/b', websocket: {}, handler: async () => 'x', wsHandler: () => {} } as never),
    { code: 'WS_ERR_INVALID_OPTION', message: /both websocket and wsHandler/ })
})

t.test('method [GET, HEAD] upgrades GETs; a HEAD to a route that only upgrades gets 404, a plain GET 426', async t => {
  const server = await startApp(t, app => {
    app.route({ method: ['GET', 'HEAD'], url: '/echo', websocket: true, handler: socket => { socket.on('message', d => socket.send(d.toString())) } })
  })
  const client = new WS(server.ws('/echo'))
  await waitEvent(client, 'open')
  client.send('hi')
  t.same(await messages(client, 1), ['hi'])
  client.close()
  t.equal((await fetch(server.http('/echo'), { method: 'HEAD' })).status, 404)
  t.equal((await fetch(server.http('/echo'))).status, 426)
})

t.test('routes that only upgrade are hidden from API docs (schema.hide); a wsHandler route is not', async t => {
  const hidden: Record<string, unknown> = {}
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(websocket)
  app.addHook('onRoute', route => { if (route.method === 'GET') hidden[route.url] = (route.schema as { hide?: boolean } | undefined)?.hide })
  app.get('/only', { websocket: true }, () => {})
  app.get('/object', { websocket: { open () {} }, schema: { querystring: { type: 'object' } } })
  app.route({ method: 'GET', url: '/both', handler: async () => 'x', wsHandler () {} })
  app.get('/plain', async () => 'x')
  let seen: unknown
  app.addHook('onRequest', async request => { seen = (request.routeOptions.schema as { hide?: boolean } | undefined)?.hide })
  await app.ready()
  await app.inject('/only')
  t.equal(seen, true, 'the route as Fastify runs it has schema.hide')
  await app.inject('/both')
  t.equal(seen, undefined)
  await app.inject('/object')
  t.equal(seen, true, 'a schema given with the route is kept, and hidden')
})

t.test('request.ws tells upgrade requests from plain ones, from onRequest on', async t => {
  const seen: Array<[string, boolean]> = []
  const server = await startApp(t, app => {
    app.addHook('onRequest', async request => { seen.push([request.url, request.ws]) })
    app.route({ method: 'GET', url: '/r', handler: async () => 'plain', wsHandler (socket, request) { socket.send(String(request.ws)) } })
  })
  const client = new WS(server.ws('/r'))
  t.same(await messages(client, 1), ['true'])
  client.close()
  await fetch(server.http('/r'))
  t.same(seen, [['/r', true], ['/r', false]])
})

t.test('the errorHandler gets (error, socket, request, reply) with this the instance, for handler errors and socket errors', async t => {
  const calls: Array<{ message: string, code: unknown, isApp: boolean, url: string, ws: boolean, hasReply: boolean, isSocket: boolean }> = []
  let app!: FastifyInstance
  const server = await startApp(t, a => {
    app = a
    a.get('/throws', { websocket: true }, () => { throw new Error('sync fail') })
    a.get('/rejects', { websocket: true }, async () => { throw new Error('async fail') })
    a.get('/quiet', { websocket: true }, () => {})
  }, {
    plugin: {
      errorHandler (this: FastifyInstance, error: Error, socket: WebSocket, request: FastifyRequest, reply: FastifyReply) {
        calls.push({ message: error.message, code: (error as { code?: unknown }).code, isApp: this === app, url: request.url, ws: request.ws, hasReply: typeof reply.hijack === 'function', isSocket: typeof socket.terminate === 'function' })
        socket.terminate()
      }
    }
  })
  for (const path of ['/throws', '/rejects']) {
    const client = new WS(server.ws(path))
    t.equal((await closed(client)).code, 1006, `${path}: the handler terminated it`)
  }
  // a frame with RSV2 set fails the server's socket: that error reaches the errorHandler too
  const raw = await rawUpgrade(server.port, '/quiet')
  const gone = waitEvent(raw.socket, 'close')
  raw.socket.resume()
  raw.socket.write(Buffer.from([0xa2, 0x80, 0, 0, 0, 0]))
  await gone
  t.match(calls, [
    { message: 'sync fail', isApp: true, url: '/throws', ws: true, hasReply: true, isSocket: true },
    { message: 'async fail', isApp: true, url: '/rejects', ws: true, hasReply: true, isSocket: true },
    { code: 'WS_ERR_UNEXPECTED_RSV_2_3', isApp: true, url: '/quiet', ws: true }
  ])
})

t.test('preClose replaces the closing step: it closes the sockets itself; new upgrades still get 503', async t => {
  let closedBy = ''
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.send('open') })
  }, {
    teardown: false,
    plugin: {
      preClose (this: FastifyInstance, done: () => void) {
        for (const socket of this.websocketServer.clients) socket.close(4000, 'custom')
        closedBy = 'custom preClose'
        done()
      }
    }
  })
  const client = new WS(server.ws('/'))
  t.same(await messages(client, 1), ['open'])
  const done = closed(client)
  await server.app.close()
  t.same(await done, { code: 4000, reason: 'custom' })
  t.equal(closedBy, 'custom preClose')
})

t.test('app.websocketServer: clients, the connection event with the raw request, headers added to the 101, close() refusing new upgrades', async t => {
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => { socket.send(`size ${app.websocketServer.clients.size}`) })
    app.websocketServer.on('headers', (headers, request) => { headers.push(`X-Seen-Url: ${String(request.url)}`) })
  })
  const connected = waitEvent<[WebSocket, { url: string }]>(server.app.websocketServer, 'connection')
  const upgrade = await rawUpgrade(server.port, '/?q=1')
  t.equal(upgrade.response.status, 101)
  t.equal(upgrade.response.headers['x-seen-url'], '/?q=1')
  const [socket, request] = await connected
  t.equal(request.url, '/?q=1')
  t.ok(server.app.websocketServer.clients.has(socket))
  upgrade.socket.destroy()
  await waitEvent(socket, 'close')
  t.equal(server.app.websocketServer.clients.size, 0)

  const stopped = waitEvent(server.app.websocketServer, 'close')
  await new Promise<void>(resolve => server.app.websocketServer.close(() => resolve()))
  await stopped
  t.equal((await rawRequest(server.port, '/')).status, 503, 'after close(), upgrades are refused')
})

t.test('injectWS with no path opens /, and its third argument runs onInit then onOpen with the socket before it resolves', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(websocket)
  app.get('/', { websocket: true }, socket => { socket.send('root') })
  await app.ready()
  const order: string[] = []
  let inited: WebSocket | null = null
  const ws = await app.injectWS(undefined, {}, {
    onInit (s) { order.push('init'); inited = s },
    onOpen (s) { order.push(`open ${String(s === inited)}`) }
  })
  order.push('resolved')
  t.same(order, ['init', 'open true', 'resolved'])
  t.equal(ws, inited)
  t.equal(ws.url, '/')
  const [data] = await waitEvent<[Buffer]>(ws, 'message')
  t.equal(data.toString(), 'root')
  ws.terminate()
  await t.rejects(app.injectWS('/missing'), { message: 'Unexpected server response: 404', statusCode: 404 })
})
