// The fastify-rfc6455/client entry: what it exports, and that its sockets are the server's class.
import t from 'tap'
import { once } from 'node:events'
import Fastify from 'fastify'
import websocket from '../../lib/index'
import * as client from '../../lib/client/index'
import { WebSocket } from '../../lib/socket'
import { sessionOf } from '../../lib/session'
import { WebSocketError } from '../../lib/errors'

t.test('the client entry exports connect, the reconnecting socket, the policy helpers and the socket class', async t => {
  t.same(Object.keys(client).sort(), ['ReconnectingWebSocket', 'WebSocket', 'WebSocketError', 'backoffDelay', 'connect',
    'connectWithRetry', 'isHandshakeRefusal', 'isRetryable'])
  t.equal(client.WebSocket, WebSocket)
  t.equal(client.WebSocketError, WebSocketError)
})

t.test('a socket from the entry is the same WebSocket class as server sockets, in the client role', async t => {
  const app = Fastify()
  await app.register(websocket)
  let serverSocket: WebSocket | null = null
  app.get('/', { websocket: true }, socket => { serverSocket = socket; socket.send('hi') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const ws = await client.connect(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`)
  t.ok(ws instanceof WebSocket)
  t.ok(serverSocket !== null && (serverSocket as WebSocket) instanceof client.WebSocket)
  t.equal(sessionOf(ws).conn.role, 'client')
  const [data] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer]
  t.equal(data.toString(), 'hi')
  const refused = await client.connect('ws://127.0.0.1:1/', { handshakeTimeout: 1000 }).catch((err: unknown) => err)
  t.notOk(client.isHandshakeRefusal(refused), 'a network error is not a refusal')
  ws.terminate()
})
