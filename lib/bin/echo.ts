#!/usr/bin/env node
// Echo server on the library, for conformance tools and benchmarks:
//   npm run echo -- --port 9001 [--host 127.0.0.1] [--deflate] [--max-payload BYTES]
// Echoes text as text and binary as binary on `/` (other paths 404), default limits on.
import Fastify from 'fastify'
import websocket from '../index'

function arg (name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

async function main (): Promise<void> {
  const port = Number(arg('port') ?? process.env.PORT ?? 9001)
  const host = arg('host') ?? '127.0.0.1'
  const maxPayload = arg('max-payload')
  const app = Fastify({ logger: process.argv.includes('--log') ? { level: 'debug' } : false })
  await app.register(websocket, {
    maxPayload: maxPayload === undefined ? undefined : Number(maxPayload),
    ...(process.argv.includes('--deflate') ? { perMessageDeflate: true } : {})
  })
  app.get('/', { websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  const address = await app.listen({ port, host })
  process.stdout.write(`echo server listening on ${address.replace(/^http/, 'ws')}/ (pid ${process.pid})\n`)
  const stop = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
