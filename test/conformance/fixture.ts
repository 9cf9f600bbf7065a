// The live server the conformance suite talks to: Fastify with the plugin on 127.0.0.1, port 0.
// Not a test file itself (tap lists it as skipped): the suites import it.
import Fastify, { type FastifyInstance } from 'fastify'
import websocket, { type WebSocketPluginOptions } from '../../lib/index'
import type { Test } from 'tap'
import type { RawClient, Teardown } from '../helpers/raw-client'

/** maxPayload of the /limited route, small enough to cross quickly. */
export const SMALL_MAX_PAYLOAD = 64 * 1024

export interface LiveServer {
  app: FastifyInstance
  port: number
}

/**
 * Routes:
 * - `/`: echo (text as text, binary as binary);
 * - `/chat`: echo that speaks the subprotocols chat.v2 and chat.v1;
 * - `/limited`: echo with maxPayload SMALL_MAX_PAYLOAD;
 * - `/plain`: an ordinary GET route, no websocket option;
 * - whatever `moreRoutes` adds.
 */
export async function startServer (t: Teardown, options: WebSocketPluginOptions = {},
  moreRoutes?: (app: FastifyInstance) => void): Promise<LiveServer> {
  const app = Fastify()
  await app.register(websocket, options)
  moreRoutes?.(app)
  app.get('/', { websocket: { message (s, d, b) { s.send(d, { binary: b }) } } })
  app.get('/chat', { websocket: { protocols: ['chat.v2', 'chat.v1'], message (s, d, b) { s.send(d, { binary: b }) } } })
  app.get('/limited', { websocket: { maxPayload: SMALL_MAX_PAYLOAD, message (s, d, b) { s.send(d, { binary: b }) } } })
  app.get('/plain', async () => ({ plain: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  return { app, port }
}

/**
 * The server failed (or closed) the connection: the next frame it sent is a close frame with
 * `code`, and then the server, not the client, closed TCP.
 */
export async function assertServerClosed (t: Test, client: RawClient, code: number | null): Promise<void> {
  const close = await client.readClose()
  t.equal(close.code, code, `the server's close frame carries ${code ?? 'no code'}`)
  await client.waitServerEnd()
  t.equal(client.closedFirstBy, 'server', 'the server closed TCP first')
  // RFC 6455 section 5.5.1: nothing is sent after a close frame
  t.equal(client.unread.length, 0, 'no bytes after the close frame')
}
