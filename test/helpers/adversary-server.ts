// The server adversarial tests attack, run in a process of its own by spawnServer (adversary.ts):
//   node --import=<ts hook> adversary-server.ts [--config '<json>']
// Prints `listening on ws://127.0.0.1:<port>/`, logs JSON (pino) at --config's `log` level to stdout.
// Routes: `/` echoes (text as text, binary as binary); `/chat` echoes and speaks the
// subprotocols chat.v2 and chat.v1; `/plain` is an ordinary GET route.
// --config (all optional):
//   fastify      Fastify server options (JSON: timeouts, `http: { headersTimeout, ... }`)
//   plugin       the plugin's options
//   log          pino level (default 'warn'); 'silent' for none
//   otherListener  an 'upgrade' listener on the server registered BEFORE the plugin's, which
//                takes requests for /taken/<mode>: destroy | end (writes a 400 and ends) |
//                write (writes a 101 and keeps the socket) | assign (answers 418 through its
//                own ServerResponse)
//   throwingConstraint  a route constraint whose deriveConstraint throws when the request
//                carries `x-boom`: Fastify's routing then throws synchronously
import Fastify, { type FastifyServerOptions } from 'fastify'
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import websocket, { type WebSocketPluginOptions } from '../../lib/index'

type Store = ReturnType<NonNullable<FastifyServerOptions['constraints']>[string]['storage']>

interface FixtureConfig {
  fastify?: FastifyServerOptions
  plugin?: WebSocketPluginOptions
  log?: string
  otherListener?: boolean
  throwingConstraint?: boolean
}

function takeUpgrade (req: IncomingMessage, socket: Duplex): void {
  const m = /^\/taken\/(\w+)/.exec(req.url ?? '')
  if (m === null) return
  switch (m[1]) {
    case 'destroy':
      socket.destroy()
      break
    case 'end':
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 5\r\n\r\nother')
      break
    case 'write':
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: other\r\nConnection: Upgrade\r\n\r\n')
      socket.on('data', () => {})
      break
    case 'assign': {
      const res = new ServerResponse(req)
      res.shouldKeepAlive = false
      res.assignSocket(socket as Socket)
      res.on('finish', () => { res.detachSocket(socket as Socket); socket.end() })
      res.writeHead(418, { 'Content-Length': '5' })
      res.end('other')
      break
    }
  }
}

async function main (): Promise<void> {
  const i = process.argv.indexOf('--config')
  const config: FixtureConfig = i === -1 ? {} : JSON.parse(process.argv[i + 1]) as FixtureConfig
  const level = config.log ?? 'warn'
  const constraints: FastifyServerOptions['constraints'] = config.throwingConstraint === true
    ? {
        boom: {
          name: 'boom',
          storage (): Store {
            const m = new Map<string, Parameters<Store['set']>[1]>()
            return { get: k => m.get(String(k)) ?? null, set: (k, v) => { m.set(String(k), v) } }
          },
          deriveConstraint (req: IncomingMessage) {
            if (req.headers['x-boom'] !== undefined) throw new Error('boom from deriveConstraint')
            return 'calm'
          },
          validate () { return true },
          mustMatchWhenDerived: false
        }
      }
    : undefined
  const app = Fastify({ ...config.fastify, logger: level === 'silent' ? false : { level }, ...(constraints === undefined ? {} : { constraints }) })
  if (config.otherListener === true) app.server.on('upgrade', takeUpgrade)
  await app.register(websocket, config.plugin ?? {})
  app.get('/', {
    ...(constraints === undefined ? {} : { constraints: { boom: 'calm' } }),
    websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } }
  })
  app.get('/chat', { websocket: { protocols: ['chat.v2', 'chat.v1'], message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  app.get('/plain', async () => ({ plain: true }))
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(`listening on ${address.replace(/^http/, 'ws')}/ (pid ${process.pid})\n`)
  process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
