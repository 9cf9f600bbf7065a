// The upgrade runs through Fastify's lifecycle: hooks that refuse or throw send a real HTTP
// response on the upgrade socket and close it; schema validation, encapsulation, prefixes,
// params and wildcards apply; headers a hook sets go out with the 101; `req` is shared.
import t from 'tap'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import WS from 'ws'
import { startApp, captureLogs, rawRequest, refusedWs, openWs, messages, waitEvent, waitFor } from '../helpers/app'

type Marked = FastifyRequest & { marks?: string[], user?: string }

function trackConnections (app: FastifyInstance): Socket[] {
  const sockets: Socket[] = []
  app.server.on('connection', (s: Socket) => sockets.push(s))
  return sockets
}

t.test('a 401 sent by an async preHandler reaches the client as HTTP 401 with its JSON body, and nothing is upgraded', async t => {
  const logs = captureLogs()
  let handlerRan = false
  const server = await startApp(t, app => {
    app.get('/secure', {
      websocket: true,
      preHandler: async (req, reply) => {
        if (req.headers.authorization !== 'Bearer ok') return reply.code(401).send({ error: 'unauthorized' })
      }
    }, () => { handlerRan = true })
  }, { fastify: { logger: { level: 'trace', stream: logs.stream } } })
  const connections = trackConnections(server.app)

  const res = await rawRequest(server.port, '/secure')
  t.equal(res.status, 401)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(JSON.parse(res.body), { error: 'unauthorized' })
  t.notOk(res.headers.upgrade, 'no Upgrade header on a refusal')
  t.equal(res.headers.connection, 'close')

  const viaWs = await refusedWs(server.ws('/secure'))
  t.equal(viaWs.status, 401)
  t.same(JSON.parse(viaWs.body), { error: 'unauthorized' })

  await waitFor(() => connections.length === 2 && connections.every(s => s.destroyed), 2000, 'server sockets closed')
  t.equal(server.app.websocketClients.size, 0)
  t.notOk(handlerRan, 'the socket handler never ran')
  t.notMatch(logs.text(), /already sent/i, 'no "Reply was already sent" warning')

  // the same route still upgrades with the right credentials
  const client = await openWs(server.ws('/secure'), undefined, { headers: { authorization: 'Bearer ok' } })
  t.ok(handlerRan)
  client.close()
})

t.test('a hook that throws gets Fastify\'s error handler status and body', async t => {
  const server = await startApp(t, app => {
    app.get('/forbidden', {
      websocket: true,
      onRequest: async () => { throw Object.assign(new Error('go away'), { statusCode: 403 }) }
    }, () => {})
    app.get('/boom', {
      websocket: true,
      preValidation: async () => { throw new Error('kaboom') }
    }, () => {})
  })
  const forbidden = await rawRequest(server.port, '/forbidden')
  t.equal(forbidden.status, 403)
  t.match(JSON.parse(forbidden.body), { statusCode: 403, error: 'Forbidden', message: 'go away' })
  const boom = await rawRequest(server.port, '/boom')
  t.equal(boom.status, 500)
  t.match(JSON.parse(boom.body), { statusCode: 500, error: 'Internal Server Error', message: 'kaboom' })
  t.equal(server.app.websocketClients.size, 0)
})

t.test('a custom setErrorHandler answers errors thrown by hooks on an upgrade', async t => {
  const server = await startApp(t, app => {
    app.setErrorHandler((err, _req, reply) => {
      reply.code(418).header('x-handled', 'yes').send({ custom: (err as Error).message })
    })
    app.get('/teapot', {
      websocket: true,
      preHandler: async () => { throw new Error('short and stout') }
    }, () => {})
  })
  const res = await rawRequest(server.port, '/teapot')
  t.equal(res.status, 418)
  t.equal(res.headers['x-handled'], 'yes')
  t.same(JSON.parse(res.body), { custom: 'short and stout' })
})

t.test('callback-style hooks run for the upgrade; one that replies without calling done refuses it', async t => {
  const server = await startApp(t, app => {
    app.get('/cb', {
      websocket: true,
      onRequest (req, _reply, done) { (req as Marked).marks = ['onRequest']; done() },
      preHandler (req, reply, done) {
        if (req.headers['x-deny'] === '1') {
          reply.code(403).send({ denied: true })
          return
        }
        if (req.headers['x-deny'] === 'err') {
          done(Object.assign(new Error('nope'), { statusCode: 409 }))
          return
        }
        (req as Marked).marks!.push('preHandler')
        done()
      }
    }, (socket, req) => { socket.send((req as Marked).marks!.join(',')) })
  })
  const denied = await rawRequest(server.port, '/cb', { 'x-deny': '1' })
  t.equal(denied.status, 403)
  t.same(JSON.parse(denied.body), { denied: true })
  const errored = await rawRequest(server.port, '/cb', { 'x-deny': 'err' })
  t.equal(errored.status, 409)
  t.match(JSON.parse(errored.body), { message: 'nope' })
  const client = new WS(server.ws('/cb'))
  const [first] = await messages(client, 1)
  t.equal(first, 'onRequest,preHandler')
  client.close()
})

t.test('onRequest, preValidation and preHandler run in order and req in the handler is the request the hooks saw', async t => {
  const seen: FastifyRequest[] = []
  let handlerReq: FastifyRequest | null = null
  const server = await startApp(t, app => {
    app.addHook('onRequest', async req => { seen.push(req); (req as Marked).marks = ['onRequest'] })
    app.get('/order', {
      websocket: true,
      preValidation: async req => { seen.push(req); (req as Marked).marks!.push('preValidation') },
      preHandler: async req => { seen.push(req); (req as Marked).marks!.push('preHandler'); (req as Marked).user = 'ada' }
    }, (socket, req) => {
      handlerReq = req
      socket.send(JSON.stringify({ marks: (req as Marked).marks, user: (req as Marked).user }))
    })
  })
  const client = new WS(server.ws('/order'))
  const [msg] = await messages(client, 1)
  t.same(JSON.parse(msg as string), { marks: ['onRequest', 'preValidation', 'preHandler'], user: 'ada' })
  t.equal(seen.length, 3)
  t.ok(seen.every(r => r === handlerReq), 'one and the same request object throughout')
  client.close()
})

t.test('querystring, params and headers schemas refuse a bad upgrade with 400 and Fastify\'s error body', async t => {
  let opened = 0
  const server = await startApp(t, app => {
    app.get('/q/:id', {
      websocket: true,
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        querystring: { type: 'object', required: ['nick'], properties: { nick: { type: 'string', minLength: 2 } } },
        headers: { type: 'object', required: ['x-client'], properties: { 'x-client': { type: 'string' } } }
      }
    }, (socket, req) => {
      opened++
      const r = req as FastifyRequest<{ Params: { id: number }, Querystring: { nick: string } }>
      socket.send(JSON.stringify({ id: r.params.id, nick: r.query.nick }))
    })
  })
  const good = { 'x-client': 'test' }
  const noQuery = await rawRequest(server.port, '/q/1', good)
  t.equal(noQuery.status, 400)
  t.match(JSON.parse(noQuery.body), { statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request', message: /querystring must have required property 'nick'/ })
  const badParam = await rawRequest(server.port, '/q/abc?nick=ada', good)
  t.equal(badParam.status, 400)
  t.match(JSON.parse(badParam.body), { code: 'FST_ERR_VALIDATION', message: /^params\/id must be integer/ })
  const noHeader = await rawRequest(server.port, '/q/1?nick=ada')
  t.equal(noHeader.status, 400)
  t.match(JSON.parse(noHeader.body), { code: 'FST_ERR_VALIDATION', message: /headers must have required property 'x-client'/ })
  t.equal(opened, 0)

  const client = new WS(server.ws('/q/7?nick=ada'), { headers: good })
  const [msg] = await messages(client, 1)
  t.same(JSON.parse(msg as string), { id: 7, nick: 'ada' }, 'coerced params reach the handler')
  client.close()
})

t.test('encapsulated child contexts keep their own hooks and prefixes, with params and wildcards', async t => {
  const server = await startApp(t, async app => {
    app.get('/root', { websocket: true }, socket => { socket.send('root') })
    await app.register(async child => {
      child.addHook('preHandler', async (req, reply) => {
        if (req.headers['x-child'] !== 'yes') return reply.code(401).send({ error: 'child says no' })
        reply.header('x-child-hook', 'ran')
      })
      child.get('/room/:id', { websocket: true }, (socket, req) => {
        socket.send(`room ${(req.params as { id: string }).id}`)
      })
      child.get('/files/*', { websocket: true }, (socket, req) => {
        socket.send(`file ${(req.params as Record<string, string>)['*']}`)
      })
    }, { prefix: '/v1' })
  })
  const refused = await rawRequest(server.port, '/v1/room/42')
  t.equal(refused.status, 401)
  t.same(JSON.parse(refused.body), { error: 'child says no' })

  const headers = { 'x-child': 'yes' }
  const room = new WS(server.ws('/v1/room/42'), { headers })
  // listen for the message first: it can arrive in the same packet as the 101
  const roomMessages = messages(room, 1)
  const [upgradeRes] = await waitEvent<[import('node:http').IncomingMessage]>(room, 'upgrade')
  t.equal(upgradeRes.headers['x-child-hook'], 'ran')
  t.same(await roomMessages, ['room 42'])
  const file = new WS(server.ws('/v1/files/a/b/c.txt'), { headers })
  t.same(await messages(file, 1), ['file a/b/c.txt'])

  // the child's hook does not apply to the parent's route
  const root = new WS(server.ws('/root'))
  t.same(await messages(root, 1), ['root'])
  // and the prefix is real: the unprefixed path is not routed
  t.equal((await rawRequest(server.port, '/room/42', headers)).status, 404)
  for (const c of [room, file, root]) c.close()
})

t.test('headers set by a hook with reply.header() go out with the 101', async t => {
  const server = await startApp(t, app => {
    app.get('/cookie', {
      websocket: true,
      onRequest: async (_req, reply) => { reply.header('set-cookie', ['session=abc; HttpOnly', 'theme=dark']) },
      preHandler: async (_req, reply) => { reply.header('x-request-tag', 'tagged').header('content-type', 'text/html') }
    }, socket => { socket.send('hi') })
  })
  const client = new WS(server.ws('/cookie'))
  const hi = messages(client, 1)
  const [res] = await waitEvent<[import('node:http').IncomingMessage]>(client, 'upgrade')
  t.equal(res.statusCode, 101)
  t.same(res.headers['set-cookie'], ['session=abc; HttpOnly', 'theme=dark'])
  t.equal(res.headers['x-request-tag'], 'tagged')
  t.notOk(res.headers['content-type'], 'headers describing a body are not copied onto the 101')
  t.same(await hi, ['hi'])
  client.close()
})
