// diagnostics_channel events (lib/diagnostics.ts): one test per channel, each over a real socket
// with a `ws` peer in another process (or a real redis-server for the adapter's channels),
// asserting the message's documented shape.
import t, { type Test } from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { startApp, waitFor } from './helpers/app'
import { startWsPeer } from './helpers/ws-peer'
import { redisServerMissing, startRedis } from './helpers/redis'
import {
  diagnosticsChannels, redisAdapter, type WebSocket, type OpenMessage, type CloseMessage, type HandshakeRefusedMessage,
  type ProtocolErrorMessage, type BackpressureMessage, type HeartbeatTimeoutMessage, type MemoryLimitMessage,
  type AdapterMessage, type MessageMessage
} from '../lib/index'

/** Every message published on `name` while the test runs. */
function listen<T> (t: Test, name: string): T[] {
  const seen: T[] = []
  const fn = (m: unknown): void => { seen.push(m as T) }
  subscribe(name, fn)
  t.teardown(() => { unsubscribe(name, fn) })
  return seen
}

t.test('handshake:refused gives the status, the error code and the route', async t => {
  const refused = listen<HandshakeRefusedMessage>(t, diagnosticsChannels.handshakeRefused)
  const { ws } = await startApp(t, app => {
    app.get('/private', { websocket: true, onRequest: async (_req, reply) => { await reply.code(401).send() } }, () => {})
    app.get('/strict', { websocket: { allowedOrigins: ['https://example.com'] } }, () => {})
  })
  const peer = await startWsPeer(t)
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/private') }), { refused: 401 })
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/strict'), origin: 'https://evil.example' }), { refused: 403 })
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/nowhere') }), { refused: 404 })
  await waitFor(() => refused.length === 3, 5000, 'three refusals')
  t.same(refused.map(({ status, code, route }) => ({ status, code, route })), [
    { status: 401, code: null, route: '/private' },
    { status: 403, code: 'WS_ERR_HANDSHAKE_ORIGIN', route: '/strict' },
    { status: 404, code: null, route: null }
  ], 'a hook\'s reply (no error), the origin check, no route')
  t.equal(refused[0].request.url, '/private', 'with the request')
})

t.test('open gives the route, the subprotocol and the extensions; close the code, who closed, the duration and the bytes', async t => {
  const opened = listen<OpenMessage>(t, diagnosticsChannels.open)
  const closed = listen<CloseMessage>(t, diagnosticsChannels.close)
  const sockets: WebSocket[] = []
  const { ws } = await startApp(t, app => {
    app.get('/chat/:room', { websocket: { protocols: ['chat.v1'], perMessageDeflate: true } }, () => {})
    app.get('/bye', { websocket: true }, socket => {
      sockets.push(socket)
      socket.once('message', () => socket.close(4002, 'bye'))
    })
  })
  const peer = await startWsPeer(t)
  const before = performance.timeOrigin + performance.now()
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/chat/1'), protocols: ['chat.v1'], deflate: true })
  t.equal(opened.length, 1, 'one open')
  const o = opened[0]
  t.same({ route: o.route, protocol: o.protocol, url: o.request.url }, { route: '/chat/:room', protocol: 'chat.v1', url: '/chat/1' })
  t.match(o.extensions, /^permessage-deflate/, 'the extensions agreed')
  t.ok(o.handshakeStart >= before - 1 && o.handshakeStart <= performance.timeOrigin + performance.now(), 'the handshake started after the peer was asked')
  await peer.ask({ cmd: 'close', name: 'a', code: 4001, reason: 'done' })
  await waitFor(() => closed.length === 1, 5000, 'a close')
  const c = closed[0]
  t.equal(c.socket, o.socket, 'the same socket')
  t.same({ route: c.route, code: c.code, reason: c.reason, codeSent: c.codeSent, closedBy: c.closedBy },
    { route: '/chat/:room', code: 4001, reason: 'done', codeSent: 4001, closedBy: 'peer' }, 'the peer closed with 4001, echoed')
  t.ok(c.durationMs >= 0, `open for ${c.durationMs.toFixed(1)} ms`)
  t.same([c.bytesIn, c.bytesOut], [2 + 4 + 6, 2 + 2], 'its close frame read, the echo written')

  await peer.ask({ cmd: 'open', name: 'b', url: ws('/bye') })
  await peer.ask({ cmd: 'send', name: 'b', count: 1, size: 3 })
  await peer.ask({ cmd: 'closed', name: 'b' })
  await waitFor(() => closed.length === 2, 5000, 'a second close')
  t.same({ code: closed[1].code, reason: closed[1].reason, codeSent: closed[1].codeSent, closedBy: closed[1].closedBy },
    { code: 4002, reason: 'bye', codeSent: 4002, closedBy: 'local' }, 'the server closed with 4002 (ws echoes code and reason)')
  t.same([closed[1].bytesIn, closed[1].bytesOut], [2 + 4 + 3 + 2 + 4 + 5, 2 + 5], 'the message and the echo read; the close frame with "bye" written')
})

t.test('protocol-error gives the error code and the close code', async t => {
  const errors = listen<ProtocolErrorMessage>(t, diagnosticsChannels.protocolError)
  const { ws } = await startApp(t, app => { app.get('/small', { websocket: { maxPayload: 10 } }, () => {}) })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/small') })
  await peer.ask({ cmd: 'send', name: 'a', count: 1, size: 100 })
  t.equal((await peer.ask<{ code: number }>({ cmd: 'closed', name: 'a' })).code, 1009, 'the peer reads 1009')
  t.equal(errors.length, 1, 'one protocol error')
  t.same({ code: errors[0].code, closeCode: errors[0].closeCode }, { code: 'WS_ERR_MESSAGE_TOO_BIG', closeCode: 1009 })
  t.equal(errors[0].error.code, 'WS_ERR_MESSAGE_TOO_BIG', 'with the error')
})

t.test('backpressure gives the policy and the buffered amount', async t => {
  const events = listen<BackpressureMessage>(t, diagnosticsChannels.backpressure)
  let dropped = 0
  const { ws } = await startApp(t, app => {
    app.get('/flood', {
      websocket: {
        maxBackpressure: 64 * 1024,
        backpressurePolicy: 'drop',
        message (socket) { for (let i = 0; i < 20; i++) if (!socket.send(Buffer.alloc(64 * 1024))) dropped++ }
      }
    })
  })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/flood') })
  await peer.ask({ cmd: 'pause', name: 'a' })
  await peer.ask({ cmd: 'send', name: 'a', count: 1, size: 1 })
  await waitFor(() => dropped > 0, 5000, 'drops')
  t.equal(events.length, dropped, `one event per drop (${dropped})`)
  t.ok(events.every(e => e.policy === 'drop' && e.maxBackpressure === 64 * 1024 && e.bufferedAmount > 64 * 1024), 'policy, limit, and what was buffered past it')
  await peer.ask({ cmd: 'resume', name: 'a' })
})

t.test('heartbeat-timeout: a peer that answers no ping', async t => {
  const timeouts = listen<HeartbeatTimeoutMessage>(t, diagnosticsChannels.heartbeatTimeout)
  const errors = listen<ProtocolErrorMessage>(t, diagnosticsChannels.protocolError)
  const { ws } = await startApp(t, app => { app.get('/hb', { websocket: { heartbeat: { interval: 100, timeout: 100 } } }, () => {}) })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/hb') })
  await peer.ask({ cmd: 'pause', name: 'a' })
  await waitFor(() => timeouts.length === 1, 5000, 'the heartbeat to time out')
  t.equal(timeouts[0].latency, -1, 'no ping was ever answered')
  t.same(errors.map(e => e.code), ['WS_ERR_PING_TIMEOUT'], 'also a protocol-error (1006: nothing sent, the transport dropped)')
})

t.test('memory-limit: the largest holder is named when the budget is exhausted', async t => {
  const limits = listen<MemoryLimitMessage>(t, diagnosticsChannels.memoryLimit)
  const { ws } = await startApp(t, app => {
    app.get('/big', { websocket: true }, socket => {
      socket.once('message', () => { for (let i = 0; i < 4; i++) socket.send(Buffer.alloc(512 * 1024)) })
    })
  }, { plugin: { memoryBudget: 1024 * 1024 } })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/big') })
  await peer.ask({ cmd: 'pause', name: 'a' })
  await peer.ask({ cmd: 'send', name: 'a', count: 1, size: 1 })
  await waitFor(() => limits.length === 1, 5000, 'the budget to be exhausted')
  t.equal(limits[0].maxBytes, 1024 * 1024, 'the budget')
  t.ok(limits[0].totalBytes > 1024 * 1024 && limits[0].heldBytes > 1024 * 1024, `${limits[0].heldBytes} bytes held by the socket, over the budget`)
  await peer.ask({ cmd: 'resume', name: 'a' })
})

t.test('message:in and message:out carry each data message while someone subscribes', async t => {
  const inbound = listen<MessageMessage>(t, diagnosticsChannels.messageIn)
  const outbound = listen<MessageMessage>(t, diagnosticsChannels.messageOut)
  const { ws } = await startApp(t, app => {
    app.get('/echo', { websocket: true }, socket => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })))
  })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/echo') })
  await peer.ask({ cmd: 'send', name: 'a', count: 2, text: 'hi' })
  await peer.ask({ cmd: 'received', name: 'a', count: 2 })
  t.same(inbound.map(m => [Buffer.from(m.data).toString(), m.isBinary]), [['hi', false], ['hi', false]], 'two text messages in')
  t.same(outbound.map(m => [Buffer.from(m.data).toString(), m.isBinary]), [['hi', false], ['hi', false]], 'two out')
  t.equal(inbound[0].socket, outbound[0].socket, 'on the same socket')
})

t.test('adapter:up and adapter:down follow the Redis connections', async t => {
  if (redisServerMissing(t)) return
  const up = listen<AdapterMessage>(t, diagnosticsChannels.adapterUp)
  const down = listen<AdapterMessage>(t, diagnosticsChannels.adapterDown)
  const redis = await startRedis(t)
  const adapter = redisAdapter({ url: redis.url, minReconnectDelay: 20, maxReconnectDelay: 200 })
  await startApp(t, () => {}, { plugin: { pubsub: adapter } })
  t.same(up.map(m => [m.adapter, m.role]).sort(), [['redis', 'publisher'], ['redis', 'subscriber']], 'both connections up')
  await redis.stop()
  await waitFor(() => down.length === 2, 5000, 'both connections down')
  t.same(down.map(m => m.role).sort(), ['publisher', 'subscriber'])
  t.ok(down.every(m => m.error instanceof Error), 'with the error')
  await redis.restart()
  await waitFor(() => up.length === 4, 5000, 'both connections up again')
})
