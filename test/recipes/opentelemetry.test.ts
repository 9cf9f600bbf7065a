// The OpenTelemetry recipe (examples/opentelemetry.js, shown in the README), fed from the
// diagnostics_channel events: spans recorded by the SDK's in-memory exporter for an accepted
// handshake and its connection (close event), a refused handshake, and a connection failed by a
// protocol error (error event), with a `ws` peer in another process.
import t from 'tap'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api'
import { startApp, waitFor } from '../helpers/app'
import { startWsPeer } from '../helpers/ws-peer'

const { instrumentWebSockets } = require('../../examples/opentelemetry.js') as { instrumentWebSockets: (tracer: Tracer) => () => void }

const ms = (time: [number, number]): number => time[0] * 1e3 + time[1] / 1e6

t.test('spans for handshakes and connections, with events for errors and the close', async t => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const uninstrument = instrumentWebSockets(provider.getTracer('test'))
  t.teardown(uninstrument)
  const { ws } = await startApp(t, app => {
    app.get('/chat/:room', { websocket: { protocols: ['chat.v1'], maxPayload: 100 } }, () => {})
    app.get('/private', { websocket: true, onRequest: async (_req, reply) => { await reply.code(401).send() } }, () => {})
  })
  const peer = await startWsPeer(t)
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans()

  const before = Date.now()
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/chat/1'), protocols: ['chat.v1'] })
  await peer.ask({ cmd: 'close', name: 'a', code: 4000, reason: 'bye' })
  await waitFor(() => spans().length === 2, 5000, 'the handshake and connection spans')
  const [handshake, connection] = spans()
  t.equal(handshake.name, 'WebSocket handshake')
  t.equal(handshake.kind, SpanKind.SERVER)
  t.same(handshake.attributes, {
    'http.route': '/chat/:room', 'url.path': '/chat/1', 'websocket.protocol': 'chat.v1', 'websocket.extensions': '', 'http.response.status_code': 101
  }, 'the handshake\'s attributes')
  t.ok(ms(handshake.startTime) >= before - 1 && ms(handshake.startTime) <= ms(handshake.endTime), 'the handshake span starts at the upgrade request')
  t.equal(connection.name, 'WebSocket /chat/:room')
  t.same(connection.events.map(e => [e.name, e.attributes]), [['websocket.close', {
    'websocket.close_code': 4000, 'websocket.close_reason': 'bye', 'websocket.close_code_sent': 4000, 'websocket.closed_by': 'peer'
  }]], 'one close event')
  t.same([connection.attributes['websocket.bytes_in'], connection.attributes['websocket.bytes_out']], [2 + 4 + 5, 2 + 2], 'the bytes each way (our echo carries the code alone)')
  t.equal(connection.status.code, SpanStatusCode.UNSET, 'a clean close is no error')

  exporter.reset()
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/private') }), { refused: 401 })
  await waitFor(() => spans().length === 1, 5000, 'the refused handshake span')
  t.same([spans()[0].name, spans()[0].attributes, spans()[0].status], ['WebSocket handshake',
    { 'url.path': '/private', 'http.response.status_code': 401, 'error.type': '401', 'http.route': '/private' },
    { code: SpanStatusCode.ERROR, message: 'HTTP 401' }], 'a refused handshake is an error span')

  exporter.reset()
  await peer.ask({ cmd: 'open', name: 'b', url: ws('/chat/2'), protocols: ['chat.v1'] })
  await peer.ask({ cmd: 'send', name: 'b', count: 1, size: 200 })
  t.equal((await peer.ask<{ code: number }>({ cmd: 'closed', name: 'b' })).code, 1009, 'the peer reads 1009')
  await waitFor(() => spans().length === 2, 5000, 'the spans of the failed connection')
  const failed = spans()[1]
  t.same(failed.events.map(e => e.name), ['websocket.error', 'websocket.close'], 'an error event, then the close')
  t.same(failed.events[0].attributes?.['error.type'], 'WS_ERR_MESSAGE_TOO_BIG')
  t.same(failed.events[0].attributes?.['websocket.close_code'], 1009)
  t.same(failed.events[1].attributes?.['websocket.closed_by'], 'local', 'closed by us')
  t.same(failed.status, { code: SpanStatusCode.ERROR, message: 'WS_ERR_MESSAGE_TOO_BIG' }, 'the connection span is an error')
})
