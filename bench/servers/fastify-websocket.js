'use strict'
// @fastify/websocket echo server on Fastify (it runs `ws` underneath, with bufferutil when installed).
//   node bench/servers/fastify-websocket.js --port N
const Fastify = require('fastify')
const { portFromArgs, printReady, exitOnSignals } = require('./common')

async function main () {
  const app = Fastify({ logger: false })
  await app.register(require('@fastify/websocket'), {
    options: { maxPayload: 64 * 1024 * 1024, perMessageDeflate: false }
  })
  app.get('/', { websocket: true }, socket => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
    socket.on('error', () => {})
  })
  await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
  exitOnSignals()
  printReady('fastify-websocket', app.server.address().port)
}

main().catch(err => { console.error(err); process.exit(1) })
