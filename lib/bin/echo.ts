#!/usr/bin/env node
// Echo server on the library, for conformance tools and benchmarks:
//   npm run echo -- --port 9001 [--host 127.0.0.1] [--deflate] [--max-payload BYTES] [--http2]
//     [--key key.pem --cert cert.pem] [--max-http2-websockets N]
// Echoes text as text and binary as binary on `/` (other paths 404), default limits on, and the
// server timeouts of the README's "Production" section: a connection that never completes its
// request (connects and sends nothing, or half a request) is dropped within seconds.
// --http2 serves h2c (HTTP/2 without TLS): WebSockets over HTTP/2 streams (RFC 8441); with
// --key and --cert, https with HTTP/2 and HTTP/1.1 (ALPN).
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '../index'

function arg (name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

async function main (): Promise<void> {
  const port = Number(arg('port') ?? process.env.PORT ?? 9001)
  const host = arg('host') ?? '127.0.0.1'
  const maxPayload = arg('max-payload')
  const http2 = process.argv.includes('--http2')
  const key = arg('key')
  const cert = arg('cert')
  const tls = key !== undefined && cert !== undefined ? { key: readFileSync(key), cert: readFileSync(cert) } : undefined
  if (tls !== undefined && !http2) throw new Error('--key and --cert go with --http2')
  const logger = process.argv.includes('--log') ? { level: 'debug' } : false
  const app = http2
    // HTTP/2 (h2c): an idle session closes gracefully after Fastify's http2SessionTimeout (72 s);
    // the HTTP/1.1 timeouts below do not apply to it, and a connectionTimeout would end a whole
    // connection, its WebSockets included, after that much silence
    ? Fastify({ logger, http2: true, ...(tls === undefined ? {} : { https: { ...tls, allowHTTP1: true } }) }) as unknown as FastifyInstance
    : Fastify({
      logger,
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
    maxHttp2WebSockets: arg('max-http2-websockets') === undefined ? undefined : Number(arg('max-http2-websockets')),
    ...(process.argv.includes('--deflate') ? { perMessageDeflate: true } : {})
  })
  app.get('/', { websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  const address = await app.listen({ port, host })
  process.stdout.write(`echo server listening on ${address.replace(/^http/, 'ws')}/${http2 ? ` over HTTP/2${tls === undefined ? ' (h2c)' : ' and HTTP/1.1'}` : ''} (pid ${process.pid})\n`)
  const stop = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
