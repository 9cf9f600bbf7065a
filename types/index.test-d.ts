import Fastify, { type FastifyRequest } from 'fastify'
import { expectType, expectError, expectAssignable } from 'tsd'
import websocket, {
  WebSocket, fastifyRfc6455, type WebSocketPluginOptions, type WebSocketRouteOptions, type PubSubAdapter,
  type PublishedMessage, memoryAdapter, redisAdapter, RedisAdapter, type RedisAdapterOptions, WebSocketError, errorCodes, type WebSocketErrorCode, InjectRefusedError,
  createWebSocketStream, RedisClientAdapter, clusterAdapter, ClusterAdapter, setupPrimary, type ClusterPrimary
} from '..'
import type { Duplex } from 'node:stream'

const app = Fastify()

// plugin options
app.register(websocket, {
  maxPayload: 1 << 20,
  heartbeat: { interval: 30_000, timeout: 10_000 },
  allowedOrigins: ['https://example.com'],
  maxBackpressure: 1 << 20,
  backpressurePolicy: 'drop',
  closeTimeout: 1000,
  handshakeTimeout: 5000,
  perMessageDeflate: { threshold: 512, serverNoContextTakeover: true },
  pubsub: memoryAdapter(),
  errorHandler (error, socket, request) { expectType<Error>(error); expectType<WebSocket>(socket); expectType<boolean>(request.ws) }
})
app.register(fastifyRfc6455, { heartbeat: true, allowedOrigins: async (origin) => origin === 'https://x' })
expectError(app.register(websocket, { maxPayload: 'big' }))
expectError(app.register(websocket, { backpressurePolicy: 'explode' }))
expectAssignable<WebSocketPluginOptions>({ perMessageDeflate: true })
expectAssignable<WebSocketPluginOptions>({ perMessageDeflate: { compressor: 'dedicated-32kb', decompressor: 'dedicated' } })
expectAssignable<WebSocketPluginOptions>({ perMessageDeflate: { compressor: 'borrowed', level: 3 } })
expectError(app.register(websocket, { perMessageDeflate: { compressor: 'dedicated-2kb' } }))
expectError(app.register(websocket, { perMessageDeflate: { decompressor: 'borrowed' } }))

// the Redis adapter is a PubSubAdapter; its options are typed
const redis = redisAdapter({ url: 'redis://127.0.0.1:6379/0', channelPrefix: 'chat:', maxQueueBytes: 1 << 20, logger: app.log })
expectType<RedisAdapter>(redis)
expectAssignable<PubSubAdapter>(redis)
expectType<boolean>(redis.connected)
app.register(websocket, { pubsub: redis })
expectError(redisAdapter({ url: 6379 }))
expectAssignable<RedisAdapterOptions>({ connectTimeout: 1000, minReconnectDelay: 50, maxReconnectDelay: 2000 })

// the cluster adapter (workers) and its relay (primary)
const clustered = clusterAdapter({ maxMessageBytes: 1 << 16, maxQueueBytes: 1 << 20, logger: app.log })
expectType<ClusterAdapter>(clustered)
expectAssignable<PubSubAdapter>(clustered)
expectType<boolean>(clustered.clustered)
app.register(websocket, { pubsub: clustered })
expectError(clusterAdapter({ maxQueueBytes: '1' }))
expectType<ClusterPrimary>(setupPrimary({ serialization: 'json', maxQueueBytes: 1 << 20 }))
expectType<number>(setupPrimary().workers)
expectError(setupPrimary({ serialization: 'yaml' }))

// style 1: websocket: true, the handler gets the socket and the typed Fastify request
app.get<{ Querystring: { nick: string }, Params: { room: string } }>('/chat/:room', { websocket: true }, (socket, request) => {
  expectType<WebSocket>(socket)
  expectType<string>(request.query.nick)
  expectType<string>(request.params.room)
  socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }))
  expectType<boolean>(socket.send('text'))
  socket.send(Buffer.from('x'), { binary: true, compress: false }, err => { expectType<Error | undefined>(err) })
  socket.ping(undefined, (err, rtt) => { expectType<Error | null>(err); expectType<number | undefined>(rtt) })
  socket.close(1000, 'bye')
  expectType<0 | 1 | 2 | 3>(socket.readyState)
  expectType<number>(socket.bufferedAmount)
  expectType<number>(socket.latency)
  expectType<string>(socket.protocol)
  expectType<string>(socket.extensions)
  expectType<string>(socket.id)
  expectType<boolean>(socket.subscribe('room'))
  socket.publish('room', 'hello', { binary: false })
  expectType<ReadonlySet<string>>(socket.topics)
  expectType<Duplex>(createWebSocketStream(socket, { binary: false }))
})

// style 2: a handler object; the third argument (optional) serves plain HTTP
app.get('/obj', {
  websocket: {
    protocols: ['chat.v1'],
    maxPayload: 4096,
    open (socket, request) { expectType<WebSocket>(socket); expectType<string>(request.url) },
    message (socket, data, isBinary) { expectType<Buffer>(data); expectType<boolean>(isBinary) },
    close (socket, code, reason) { expectType<number>(code); expectType<Buffer>(reason) },
    drain (socket) { expectType<WebSocket>(socket) },
    error (socket, error) { expectType<unknown>(error) }
  }
}, async (request, reply) => {
  expectType<FastifyRequest>(request)
  return reply.send({ hint: 'use a WebSocket' })
})

// the full route() form, without a handler
app.route<{ Params: { id: string } }>({
  method: 'GET',
  url: '/room/:id',
  preHandler: async (request) => { expectType<string>(request.params.id) },
  websocket: {
    selectProtocol (offered, request) { expectType<string[]>(offered); return offered[0] ?? false },
    open (socket, request) { socket.send(request.params.id) }
  }
})
expectError(app.get('/bad', { websocket: { message: 42 } }))

// decorators
expectType<Set<WebSocket>>(app.websocketClients)
app.websocketPublish('room', Buffer.from('all'))
expectType<ReadonlySet<WebSocket>>(app.websocketSubscribers('room'))
expectType<Promise<WebSocket>>(app.injectWS('/chat/a?nick=x', { headers: { authorization: 'x' }, protocols: ['chat.v1'] }))

// errors
expectType<readonly WebSocketErrorCode[]>(errorCodes)
const err = new WebSocketError('WS_ERR_MESSAGE_TOO_BIG')
expectType<number | undefined>(err.closeCode)
expectError(new WebSocketError('NOT_A_CODE'))
expectType<number>(new InjectRefusedError(401, {}, '').statusCode)

// adapters
const adapter: PubSubAdapter = {
  start (deliver) { deliver({ topic: 't', data: Buffer.alloc(0), binary: false, origin: 'o', exceptSocket: null }) },
  publish (message: PublishedMessage) { expectType<string>(message.topic) }
}
app.register(websocket, { pubsub: adapter })
expectAssignable<WebSocketRouteOptions>({ requireProtocol: false, backpressurePolicy: 'close' })

// @fastify/websocket's surface: route({ websocket: true, handler }) types the handler (socket, request);
// wsHandler beside an HTTP handler; typed socket events; websocketServer; injectWS with no path
app.route({
  method: ['GET', 'HEAD'],
  url: '/compat',
  websocket: true,
  handler (socket, request) {
    expectType<WebSocket>(socket)
    expectType<boolean>(request.ws)
    socket.on('message', (data, isBinary) => { expectType<Buffer>(data); expectType<boolean>(isBinary) })
    socket.once('close', (code, reason) => { expectType<number>(code); expectType<Buffer>(reason) })
  }
})
app.route({ method: 'GET', url: '/both', handler: async () => 'plain', wsHandler (socket, request) { expectType<WebSocket>(socket); expectType<string>(request.url) } })
expectType<Set<WebSocket>>(app.websocketServer.clients)
app.websocketServer.on('connection', (socket, request) => { expectType<WebSocket>(socket); expectType<string | undefined>(request.url) })
expectType<Promise<WebSocket>>(app.injectWS())
expectType<Promise<WebSocket>>(app.injectWS('/x', {}, { onInit (ws) { expectType<WebSocket>(ws) }, onOpen (ws) { expectType<WebSocket>(ws) } }))
app.register(websocket, { options: { maxPayload: 10, clientTracking: false }, preClose (done) { done() } })

// resumable topics (issue 16): the in-process adapter's options, and an adapter of one's own with
// the optional methods (without them it still fits PubSubAdapter)
const resumable = memoryAdapter({ resume: { topics: (topic: string) => topic.startsWith('room:'), maxMessages: 100, maxAge: 60_000 } })
expectType<number>(resumable.heldBytes)
expectAssignable<PubSubAdapter>(memoryAdapter({ resume: true }))
expectError(memoryAdapter({ resume: { topics: ['room:'] } }))
expectAssignable<PubSubAdapter>({
  start () {},
  publish () {},
  resumable: (topic: string) => topic !== '',
  replay: async (_topic: string, after: string | null) => ({ last: after ?? '0-0', gap: null, messages: [] })
})
expectAssignable<PubSubAdapter>({ start () {}, publish () {} })
// the Redis adapter on one's own clients (structural: ioredis and node-redis clients fit), or from a URL and the peer dependency
declare const io: { callBuffer (...args: unknown[]): Promise<unknown>, publish (...args: unknown[]): Promise<number>, on (...args: unknown[]): unknown }
expectType<RedisClientAdapter>(redisAdapter({ publisher: io, subscriber: io, resume: { maxMessages: 500 }, streamTtl: 3_600_000 }))
expectType<RedisClientAdapter>(redisAdapter({ url: 'rediss://cache:6380', client: 'ioredis', resume: true }))
expectType<RedisAdapter>(redisAdapter({ url: 'redis://127.0.0.1:6379' }))
expectError(redisAdapter({ url: 'redis://x', client: 'memcached' }))
expectError(redisAdapter({ publisher: {}, subscriber: io }))

// WebSockets over HTTP/2: the plugin's bound per connection, on an http2 app
Fastify({ http2: true }).register(websocket, { maxHttp2WebSockets: 50 })
expectError(app.register(websocket, { maxHttp2WebSockets: '50' }))
