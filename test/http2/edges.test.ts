// The edges of the HTTP/2 handshake: refusals before routing (shutting down, the handshake
// timeout) as HTTP/2 responses, CONNECTs that are not ours, the hooks' headers and ws's
// 'headers' event on the 200. The peer runs in another process.
import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import { startApp } from '../helpers/app'
import { startPeer } from '../helpers/h2-peer'

const H2C = { fastify: { http2: true } as FastifyServerOptions }

t.test("the hooks' headers and the 'headers' event's go out with the 200; request.ws is true in the hooks", async t => {
  const seen: boolean[] = []
  const server = await startApp(t, app => {
    app.websocketServer.on('headers', lines => { lines.push('X-From-Event: yes') })
    app.get('/ws', {
      onRequest: async (req, reply) => {
        seen.push(req.ws)
        reply.header('set-cookie', 'session=1').header('connection', 'keep-alive')
      },
      websocket: { open (socket) { socket.send('hi') } }
    })
  }, H2C)
  const peer = await startPeer(t, server.http(''))
  const res = await peer.open(1, '/ws')
  t.equal(res.status, 200)
  t.same(res.headers?.['set-cookie'], ['session=1'])
  t.equal(res.headers?.['x-from-event'], 'yes')
  t.notOk('connection' in (res.headers ?? {}), 'a connection-specific header never goes out over HTTP/2')
  t.equal(await peer.message(1), 'hi')
  t.same(seen, [true])
})

t.test('refusals before routing are HTTP/2 responses: 503 when shutting down, 503 at the handshake timeout', async t => {
  const server = await startApp(t, app => {
    app.get('/slow', { preHandler: () => new Promise(resolve => setTimeout(resolve, 2000)), websocket: true }, () => {})
    app.get('/ws', { websocket: true }, () => {})
  }, { ...H2C, plugin: { handshakeTimeout: 200 } })
  const peer = await startPeer(t, server.http(''))
  const slow = await peer.open(1, '/slow')
  t.equal(slow.status, 503)
  t.match(JSON.parse(slow.body ?? ''), { code: 'WS_ERR_HANDSHAKE_TIMEOUT' })
  await new Promise<void>(resolve => server.app.websocketServer.close(() => resolve()))
  const closing = await peer.open(2, '/ws')
  t.equal(closing.status, 503)
  t.match(JSON.parse(closing.body ?? ''), { code: 'WS_ERR_SHUTTING_DOWN' })
})

t.test("a CONNECT that is not a WebSocket's gets Node's 405, or goes to the app's own 'connect' listener", async t => {
  const server = await startApp(t, app => { app.get('/ws', { websocket: true }, () => {}) }, H2C)
  const peer = await startPeer(t, server.http(''))
  await peer.take(r => r.ev === 'settings', 'settings')
  peer.command({ op: 'request', id: 1, headers: { ':method': 'CONNECT', ':authority': 'example.com:443' } })
  t.equal((await peer.take(r => r.id === 1, 'answer')).status, 405)
  peer.command({ op: 'request', id: 2, headers: { ':method': 'CONNECT', ':protocol': 'connect-udp', ':path': '/x', ':scheme': 'http', ':authority': 'a' } })
  t.equal((await peer.take(r => r.id === 2, 'answer')).status, 405)
  server.app.server.on('connect', (_req: unknown, res: { writeHead (s: number): void, end (): void }) => {
    res.writeHead(200)
    res.end()
  })
  peer.command({ op: 'request', id: 3, headers: { ':method': 'CONNECT', ':authority': 'example.com:443' } })
  t.equal((await peer.take(r => r.id === 3, 'answer')).status, 200, 'a proxy of the app answers its own CONNECTs')
})
