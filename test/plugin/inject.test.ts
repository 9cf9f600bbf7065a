// injectWS as a client: it offers and negotiates extensions, and judges the 101, with the same
// code as connect() (handshake/client.ts, handshake/client-extensions.ts), and its sockets handle
// listener errors as connect()'s do (client-context.ts). The connection is an in-memory stream
// pair by design (no port), so the bytes are read off that pair.
import t, { type Test } from 'tap'
import type { Duplex } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket, { type WebSocket } from '../../lib/index'
import { injectWS } from '../../lib/plugin/inject'
import { computeAccept } from '../../lib/handshake/accept'
import type { DeflateOptions } from '../../lib/handshake/extensions'
import { decodeFrames } from '../helpers/frames'
import { waitEvent, waitFor } from '../helpers/app'

async function echoApp (t: Test, perMessageDeflate: boolean | DeflateOptions): Promise<{ app: FastifyInstance, serverWire: Buffer[] }> {
  const app = Fastify()
  await app.register(websocket, { perMessageDeflate })
  app.get('/', { websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  await app.ready()
  t.teardown(() => app.close())
  // every byte the client sends, as the server's stream receives it
  const serverWire: Buffer[] = []
  app.websocketServer.on('connection', (socket: WebSocket) => {
    socket._socket.prependListener('data', (chunk: Buffer) => serverWire.push(Buffer.from(chunk)))
  })
  return { app, serverWire }
}

/** Send each message and collect the echoes, with the bytes the client received meanwhile. */
async function exchange (ws: WebSocket, messages: string[]): Promise<{ got: string[], clientWire: Buffer[] }> {
  const clientWire: Buffer[] = []
  ws._socket.prependListener('data', (chunk: Buffer) => clientWire.push(Buffer.from(chunk)))
  const got: string[] = []
  const done = new Promise<void>(resolve => ws.on('message', (data: Buffer) => {
    got.push(data.toString())
    if (got.length === messages.length) resolve()
  }))
  for (const m of messages) ws.send(m)
  await done
  return { got, clientWire }
}

const MESSAGES = ['small', 'compressible text '.repeat(500), 'héllo wörld ✓ '.repeat(100)]

for (const [name, context] of [
  ["a Sec-WebSocket-Extensions header of the test's own", { headers: { 'sec-websocket-extensions': 'permessage-deflate' } }],
  ['the perMessageDeflate option', { perMessageDeflate: true }]
] as const) {
  t.test(`injectWS offering permessage-deflate with ${name} agrees on it and exchanges compressed messages both ways`, async t => {
    const { app, serverWire } = await echoApp(t, { threshold: 64 })
    const ws = await app.injectWS('/', context)
    t.match(ws.extensions, /^permessage-deflate/, 'the agreed extension is the socket\'s')
    const { got, clientWire } = await exchange(ws, MESSAGES)
    t.same(got, MESSAGES, 'every message round-trips')
    const sent = decodeFrames(Buffer.concat(serverWire))
    const received = decodeFrames(Buffer.concat(clientWire))
    t.same(sent.map(f => f.rsv === 4), [false, true, true], 'the client compressed (RSV1) the messages over the threshold')
    t.same(received.map(f => f.rsv === 4), [false, true, true], 'and so did the server')
    t.ok(received[1].payload.length < 1000, 'the 9 KB text travelled compressed')
    ws.close()
  })
}

t.test('injectWS offering permessage-deflate to a server without it goes on uncompressed', async t => {
  const { app, serverWire } = await echoApp(t, false)
  const ws = await app.injectWS('/', { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' } })
  t.equal(ws.extensions, '')
  const { got } = await exchange(ws, MESSAGES)
  t.same(got, MESSAGES)
  t.same(decodeFrames(Buffer.concat(serverWire)).map(f => f.rsv), [0, 0, 0], 'no frame compressed')
  ws.close()
})

/** injectWS against a hand-written server that answers `response(key)` to the upgrade. */
function answeredWith (response: (key: string) => string, context = {}): Promise<unknown> {
  const onUpgrade = (req: { headers: Record<string, string | string[] | undefined> }, socket: Duplex): void => {
    socket.write(response(String(req.headers['sec-websocket-key'])))
  }
  return injectWS(onUpgrade, '/', context).then(() => t.fail('the handshake succeeded'), (err: unknown) => err)
}

const OK = (key: string): string => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n`

t.test('injectWS fails a 101 that breaks RFC 6455 section 4.1 as connect() does', async t => {
  t.match(await answeredWith(key => OK('another key') + '\r\n'), { code: 'WS_ERR_CLIENT_HANDSHAKE', message: /Sec-WebSocket-Accept does not match/ })
  t.match(await answeredWith(key => OK(key).replace('Upgrade: websocket\r\n', '') + '\r\n'), { code: 'WS_ERR_CLIENT_HANDSHAKE', message: /Upgrade header missing/ })
  t.match(await answeredWith(key => OK(key) + 'Sec-WebSocket-Protocol: chat\r\n\r\n'), { code: 'WS_ERR_CLIENT_HANDSHAKE', message: /none was offered/ })
  t.match(await answeredWith(key => OK(key) + 'Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n'),
    { code: 'WS_ERR_CLIENT_EXTENSION', message: /not offered/ }, 'an extension it did not offer')
  t.match(await answeredWith(key => OK(key) + 'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n\r\n',
    { perMessageDeflate: { serverMaxWindowBits: 10 } }), { code: 'WS_ERR_CLIENT_EXTENSION' }, 'parameters it cannot honour')
})

t.test('an error thrown by an injectWS socket\'s listener closes it with 1011 and reaches its error listeners, as a connect() socket\'s', async t => {
  const app = Fastify()
  await app.register(websocket)
  const serverClosed: number[] = []
  app.get('/', { websocket: { open (socket) { socket.send('boom') }, close (_s, code) { serverClosed.push(code) } } })
  await app.ready()
  t.teardown(() => app.close())
  const ws = await app.injectWS('/')
  ws.on('message', () => { throw new Error('listener failed') })
  const failed = waitEvent<[Error]>(ws, 'error')
  const wsClosed = waitEvent<[number]>(ws, 'close')
  t.equal((await failed)[0].message, 'listener failed')
  t.equal((await wsClosed)[0], 1011)
  await waitFor(() => serverClosed.length === 1, 2000, 'the server saw the close')
  t.same(serverClosed, [1011], 'the closing handshake carried 1011')
})

t.test('injectWS refuses request headers that could split the request, and repeated subprotocols, before any upgrade', async t => {
  let upgrades = 0
  const onUpgrade = (): void => { upgrades++ }
  await t.rejects(injectWS(onUpgrade, '/', { headers: { 'x-evil': 'a\r\nX-Injected: 1' } }), { code: 'WS_ERR_INVALID_HEADER' })
  await t.rejects(injectWS(onUpgrade, '/', { protocols: ['chat', 'chat'] }), { code: 'WS_ERR_INVALID_OPTION' })
  t.equal(upgrades, 0, 'nothing reached the server')
})
