// A Fastify app with the plugin and one WebSocket route, where each client a test opens comes back
// paired with the server's socket for it: what pub/sub tests publish from and subscribe on.
import type { Test } from 'tap'
import { once } from 'node:events'
import Fastify, { type FastifyInstance } from 'fastify'
import WS from 'ws'
import websocket, { type WebSocket, type WebSocketPluginOptions } from '../../lib/index'

export interface Peer {
  client: WS
  server: WebSocket
  /** every message the client received, text as strings, binary as Buffers */
  received: Array<string | Buffer>
  /** resolves once the client has received `n` messages in all */
  receivedCount (n: number): Promise<void>
}

export interface PubSubHarness {
  app: FastifyInstance
  /** open a client; resolves with it and the server's socket for it */
  connect (): Promise<Peer>
}

export async function pubsubHarness (t: Test, options: WebSocketPluginOptions = {}): Promise<PubSubHarness> {
  const app = Fastify()
  await app.register(websocket, options)
  const waiting = new Map<string, (socket: WebSocket) => void>()
  app.get<{ Querystring: { id: string } }>('/ws', { websocket: true }, (socket, req) => {
    waiting.get(req.query.id)?.(socket)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  let next = 0
  return {
    app,
    async connect () {
      const id = String(++next)
      const serverSide = new Promise<WebSocket>(resolve => waiting.set(id, resolve))
      const client = new WS(`ws://127.0.0.1:${port}/ws?id=${id}`)
      const received: Array<string | Buffer> = []
      const waiters: Array<[number, () => void]> = []
      client.on('message', (data: Buffer, isBinary: boolean) => {
        received.push(isBinary ? data : data.toString())
        for (const w of waiters.filter(([n]) => received.length >= n)) {
          waiters.splice(waiters.indexOf(w), 1)
          w[1]()
        }
      })
      await once(client, 'open')
      const server = await serverSide
      t.teardown(() => client.terminate())
      return {
        client,
        server,
        received,
        receivedCount (n) {
          if (received.length >= n) return Promise.resolve()
          return new Promise(resolve => waiters.push([n, resolve]))
        }
      }
    }
  }
}
