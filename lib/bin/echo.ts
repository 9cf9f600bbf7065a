#!/usr/bin/env node
// Echo server on the library, for conformance tools and benchmarks:
//   npm run echo -- --port 9001 [--host 127.0.0.1] [--deflate] [--max-payload BYTES]
// Echoes text as text and binary as binary on `/` (other paths 404), default limits on, and the
// server timeouts of the README's "Production" section: a connection that never completes its
// request (connects and sends nothing, or half a request) is dropped within seconds.
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
  const app = Fastify({
    logger: process.argv.includes('--log') ? { level: 'debug' } : false,
    // none of these applies to a socket once it is upgraded (Node stops tracking it at the 101)
    connectionTimeout: 10_000, // a connection silent this long before its upgrade is destroyed
    requestTimeout: 10_000, // a whole request, body included
    keepAliveTimeout: 5_000, // an idle keep-alive connection between requests
    // the request head (a slowloris sending a byte now and then), checked every second
    http: { headersTimeout: 5_000, connectionsCheckingInterval: 1_000 }
  })
  await app.register(websocket, {
    handshakeTimeout: 5_000, // from the 'upgrade' event to the 101, hooks included
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
