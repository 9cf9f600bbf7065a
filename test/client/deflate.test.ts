// The client's permessage-deflate: offered when asked for, used both ways with our server and
// with ws, declined gracefully, and an answer it cannot honour fails the connection.
import t from 'tap'
import { createServer } from 'node:http'
import Fastify from 'fastify'
import { WebSocketServer } from 'ws'
import websocket from '../../lib/index'
import { connect } from '../../lib/client/index'
import { computeAccept } from '../../lib/handshake/accept'

function echoOnce (socket: import('../../lib/socket').WebSocket, message: string): Promise<string> {
  return new Promise(resolve => {
    socket.once('message', (data: Buffer) => resolve(data.toString()))
    socket.send(message)
  })
}

t.test('with our server, deflate is agreed and messages compress both ways', async t => {
  const app = Fastify()
  await app.register(websocket, { perMessageDeflate: { threshold: 0 } })
  let serverExtensions = ''
  const received: boolean[] = []
  app.get('/', { websocket: { open (s) { serverExtensions = s.extensions }, message (s, d, b) { received.push(d.length > 0); s.send(d, { binary: b }) } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const socket = await connect(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`, { perMessageDeflate: { threshold: 0 } })
  t.match(socket.extensions, /^permessage-deflate/)
  t.match(serverExtensions, /^permessage-deflate/)
  const text = 'client compression '.repeat(500)
  t.equal(await echoOnce(socket, text), text)
  t.equal(await echoOnce(socket, 'tiny'), 'tiny')
  socket.close()
})

t.test('with a ws server, deflate interoperates (context takeover both ways)', async t => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } })
  await new Promise(resolve => wss.once('listening', resolve))
  t.teardown(() => new Promise(resolve => wss.close(() => resolve(undefined))))
  let compressedFromClient = 0
  wss.on('connection', ws => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    ;(ws as unknown as { _socket: import('node:net').Socket })._socket.prependListener('data', (c: Buffer) => { if ((c[0] & 0x40) !== 0) compressedFromClient++ })
  })
  const socket = await connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, { perMessageDeflate: true })
  t.match(socket.extensions, /^permessage-deflate/)
  for (const m of ['first '.repeat(400), 'second '.repeat(400), 'first '.repeat(400)]) t.equal(await echoOnce(socket, m), m)
  t.ok(compressedFromClient >= 1, 'the server saw RSV1 frames from the client')
  socket.close()
})

t.test('a server that declines deflate is fine: the client goes on without', async t => {
  const app = Fastify()
  await app.register(websocket)
  app.get('/', { websocket: { message (s, d) { s.send(d) } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const socket = await connect(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`, { perMessageDeflate: true })
  t.equal(socket.extensions, '')
  t.equal(await echoOnce(socket, 'plain'), 'plain')
  socket.close()
})

t.test('a server answering parameters the client cannot honour fails the connection (1010)', async t => {
  const server = createServer()
  server.on('upgrade', (req, sock) => {
    sock.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${computeAccept(String(req.headers['sec-websocket-key']))}\r\n` +
      'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => server.close(() => resolve(undefined))))
  await t.rejects(connect(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`, { perMessageDeflate: true }),
    { code: 'WS_ERR_CLIENT_EXTENSION' })
})
