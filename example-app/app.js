'use strict'
// The chat demo as a Fastify app: log in over REST, then chat over a WebSocket per room.
// `buildApp(options)` returns the app without listening, so tests can listen on port 0;
// server.js is the command-line entry.
const path = require('node:path')
const Fastify = require('fastify')
const fastifyStatic = require('@fastify/static')
const websocket = require('fastify-rfc6455')
const { memoryAdapter } = websocket
const { createTokens, offeredProtocols, tokenFromProtocols, bearerToken, REFUSALS } = require('./token')
const { Rooms } = require('./room')
const { clientMessageSchema, invalidMessageEvent } = require('./protocol')

const NICKNAME_PATTERN = '^[\\p{L}\\p{N}_.-]+( [\\p{L}\\p{N}_.-]+)*$'
const ROOM_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$'

const defaults = {
  logger: false,
  secret: undefined,
  tokenTtlMs: 12 * 60 * 60 * 1000,
  historySize: 50,
  maxRooms: 1000,
  maxPayload: 16 * 1024,
  heartbeat: { interval: 30_000, timeout: 10_000 },
  maxBackpressure: 1024 * 1024,
  backpressurePolicy: 'close',
  closeTimeout: 3000,
  // a pub/sub adapter shared by several processes (server.js passes redisAdapter() when REDIS_URL
  // is set); undefined: in-process, with the room topics resumable (see roomAdapter). Messages
  // then reach every process's subscribers; history, members and message ids stay per process.
  pubsub: undefined,
  // { key, cert }: serve over https with HTTP/2 (and HTTP/1.1 for clients without it); browsers
  // then open the chat's WebSockets as streams of the page's connection (RFC 8441)
  https: undefined,
  onConnection: undefined
}

/**
 * A browser always sends Origin on a WebSocket handshake; comparing it with the Host the
 * browser connected to refuses pages of other sites (cross-site WebSocket hijacking) with 403.
 * A request without Origin comes from a non-browser client, which no other site can drive.
 */
function sameOrigin (origin, req) {
  if (origin === undefined) return true
  let url
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  // HTTP/2 names the host in :authority
  const host = req.headers.host ?? req.headers[':authority']
  return (url.protocol === 'http:' || url.protocol === 'https:') && typeof host === 'string' && url.host === host.toLowerCase()
}

/**
 * The request log's view of a request: Fastify's fields, with the value of any `token` query
 * parameter masked. No token is read from a URL here, but a page loaded before tokens moved
 * out of URLs (or a hand-made request) may still send one, and logs outlive sessions.
 */
function requestForLog (req) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? req.url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]') : req.url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort
  }
}

/** `logger` with requestForLog as its request serializer (a caller's own serializers win). */
function safeLogger (logger) {
  if (logger === undefined || logger === false) return logger
  const config = logger === true ? {} : logger
  return { ...config, serializers: { req: requestForLog, ...config.serializers } }
}

/**
 * The in-process adapter with the rooms' topics resumable: each message published to a room
 * carries an id, and a page reconnecting with `?resume=<id>:room:<name>` gets what it missed
 * (README, "Resumable topics"), or a gap when the window no longer covers it.
 */
function roomAdapter () {
  return memoryAdapter({ resume: { topics: topic => topic.startsWith('room:') } })
}

async function buildApp (options = {}) {
  const opts = { ...defaults, ...options }
  const app = Fastify(opts.https === undefined
    ? { logger: safeLogger(opts.logger) }
    : { logger: safeLogger(opts.logger), http2: true, https: { allowHTTP1: true, ...opts.https } })
  const tokens = createTokens(opts.secret, opts.tokenTtlMs)
  const rooms = new Rooms({ historySize: opts.historySize, maxRooms: opts.maxRooms })
  /** socket -> { nickname, room } */
  const sessions = new WeakMap()
  let nextMessageId = 0

  app.decorate('chat', { tokens, rooms })
  app.decorateRequest('chatSession', null)

  await app.register(websocket, {
    // no server context takeover: a broadcast is compressed once for the whole room, and an idle
    // socket keeps no zlib state (RFC 7692 section 7.1.1.1 lets the server choose this alone)
    perMessageDeflate: { serverNoContextTakeover: true, threshold: 256 },
    heartbeat: opts.heartbeat,
    maxBackpressure: opts.maxBackpressure,
    backpressurePolicy: opts.backpressurePolicy,
    closeTimeout: opts.closeTimeout,
    pubsub: opts.pubsub ?? roomAdapter()
  })
  await app.register(fastifyStatic, { root: path.join(__dirname, 'public') })
  await app.register(require('./metrics').metrics)

  // Fastify's own 404 logs and returns the URL, query string included; this says the path only
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'Not Found', message: `no route for ${req.method} ${req.url.split('?')[0]}` })
  })

  app.addHook('onSend', async (req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff')
    reply.header('Content-Security-Policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
  })

  app.post('/login', {
    bodyLimit: 1024,
    schema: {
      body: {
        type: 'object',
        required: ['nickname'],
        additionalProperties: false,
        properties: { nickname: { type: 'string', minLength: 1, maxLength: 24, pattern: NICKNAME_PATTERN } }
      },
      response: {
        200: {
          type: 'object',
          properties: { token: { type: 'string' }, nickname: { type: 'string' }, expiresAt: { type: 'number' } }
        }
      }
    }
  }, async req => {
    const { nickname } = req.body
    const { token, expiresAt } = tokens.sign(nickname)
    req.log.info({ nickname }, 'login')
    return { token, nickname, expiresAt }
  })

  // A browser's WebSocket cannot read the status of a refused handshake (it only sees a close
  // with code 1006), so the page asks here why its token was refused (Authorization: Bearer).
  app.get('/api/check', async (req, reply) => {
    const session = tokens.verify(bearerToken(req.headers.authorization))
    if (!session.ok) return reply.code(401).send({ ok: false, reason: session.reason, message: REFUSALS[session.reason] })
    return { ok: true, nickname: session.nickname, expiresAt: session.expiresAt }
  })

  app.route({
    method: 'GET',
    url: '/chat/:room',
    schema: {
      params: { type: 'object', properties: { room: { type: 'string', pattern: ROOM_PATTERN } } }
    },
    preHandler: async (req, reply) => {
      // the token comes as an offered subprotocol (token.js says why); a client offering
      // subprotocols without chat.v1 is refused here, so that no error message lists the offer
      const offered = offeredProtocols(req.headers['sec-websocket-protocol'])
      if (offered.length > 0 && !offered.includes('chat.v1')) {
        return reply.code(400).send({ error: 'Bad Request', message: 'offer the chat.v1 subprotocol' })
      }
      const session = tokens.verify(tokenFromProtocols(offered))
      if (!session.ok) {
        req.log.info({ reason: session.reason }, 'chat handshake refused')
        return reply.code(401).send({ error: 'Unauthorized', reason: session.reason, message: REFUSALS[session.reason] })
      }
      req.chatSession = session
    },
    websocket: {
      protocols: ['chat.v1'],
      maxPayload: opts.maxPayload,
      allowedOrigins: sameOrigin,

      open (socket, req) {
        const nickname = req.chatSession.nickname
        const room = rooms.get(req.params.room)
        sessions.set(socket, { nickname, room })
        socket.subscribe(room.topic)
        const first = room.join(nickname)
        socket.send({ type: 'welcome', room: room.name, you: nickname, members: room.members(), history: room.history })
        // everyone else in the room learns of the newcomer
        if (first) socket.publish(room.topic, JSON.stringify({ type: 'join', nickname, at: Date.now() }))
        socket.log.info({ nickname, room: room.name, extensions: socket.extensions }, 'joined')
        opts.onConnection?.(socket, req)
      },

      // each text message is parsed and validated against the schema before `message` sees it
      schema: { message: clientMessageSchema },

      // not JSON, or not the schema: only the sender hears about its mistake (instead of the
      // close, 1007 or 1008, a route without this handler answers with); nothing is broadcast
      invalidMessage (socket, error) {
        socket.send(invalidMessageEvent(error.code === 'WS_ERR_MESSAGE_NOT_JSON' ? 'not JSON' : error.message.slice(error.message.indexOf(': ') + 2)))
      },

      // binary messages skip the schema and come here
      binary (socket) {
        socket.send(invalidMessageEvent('chat.v1 speaks JSON text messages, not binary'))
      },

      message (socket, msg) {
        const session = sessions.get(socket)
        const event = { type: 'message', id: ++nextMessageId, from: session.nickname, text: msg.text, at: Date.now() }
        session.room.remember(event)
        app.websocketPublish(session.room.topic, JSON.stringify(event))
      },

      close (socket, code) {
        const session = sessions.get(socket)
        if (session === undefined) return
        sessions.delete(socket)
        // the socket has already been unsubscribed: this reaches the others
        if (session.room.leave(session.nickname)) {
          app.websocketPublish(session.room.topic, JSON.stringify({ type: 'leave', nickname: session.nickname, at: Date.now() }))
        }
        socket.log.info({ nickname: session.nickname, room: session.room.name, code }, 'left')
      }
    }
  })

  return app
}

module.exports = { buildApp, sameOrigin, roomAdapter }
