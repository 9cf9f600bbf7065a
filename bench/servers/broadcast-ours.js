'use strict'
// Broadcast with our library: every connection subscribes to topic `all`; a text message `go N`
// publishes one message to the topic N times (framed once per publish, per DESIGN.md section 1).
//   node bench/servers/broadcast-ours.js --port N [--size BYTES]
// Exits with code 3 and a SKIP line while the library or its pub/sub API does not exist yet.
const fs = require('node:fs')
const path = require('node:path')
const { arg, portFromArgs, printReady, skip, exitOnSignals } = require('./common')

const dist = path.join(__dirname, '..', '..', 'dist', 'index.js')
if (!fs.existsSync(dist)) skip('dist/index.js does not exist (run npm run build)')

async function main () {
  const Fastify = require('fastify')
  const lib = require(dist)
  const plugin = lib.default ?? lib
  const msg = 'b'.repeat(Number(arg('size') ?? 32))
  const app = Fastify({ logger: false })
  await app.register(plugin, { maxPayload: 1 << 20 })
  app.get('/', { websocket: true }, socket => {
    if (typeof socket.subscribe !== 'function') skip('socket.subscribe() is not implemented yet')
    socket.subscribe('all')
    socket.on('message', (data, isBinary) => {
      const go = isBinary ? null : /^go (\d+)$/.exec(data.toString())
      if (go === null) return
      const n = Number(go[1])
      for (let i = 0; i < n; i++) app.websocketPublish('all', msg)
    })
  })
  await app.ready()
  if (typeof app.websocketPublish !== 'function') skip('app.websocketPublish() is not implemented yet')
  await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
  exitOnSignals()
  printReady('broadcast-ours', app.server.address().port, { size: msg.length })
}

main().catch(err => { console.error(err); process.exit(1) })
