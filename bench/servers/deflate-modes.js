'use strict'
// Echo server with permessage-deflate in one memory mode, for bench/deflate-memory.js (which
// forks it with --expose-gc and talks to it over IPC):
//   ws                      `ws` with `perMessageDeflate: true` (its defaults: level 6, context
//                           takeover both ways, full windows)
//   ours:C:D[:L]            this library, compressor C ('shared' | 'dedicated-3kb' ...
//                           'dedicated-256kb'), decompressor D ('shared' | 'dedicated'), level L
//                           (default: the library's)
// IPC: sends { ready, port, pid }; answers 'measure' with memory after two forced GCs.
const http = require('node:http')
const path = require('node:path')
const { arg } = require('./common')

const mode = arg('mode') ?? 'ws'

function measure () {
  global.gc()
  // a second pass after the event loop turns collects what finalizers released (zlib handles)
  setImmediate(() => {
    global.gc()
    const m = process.memoryUsage()
    process.send({ measured: { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers } })
  })
}

async function startOurs () {
  const [, compressor, decompressor, level] = mode.split(':')
  const Fastify = require('fastify')
  const websocket = require(path.join(__dirname, '..', '..', 'dist', 'index.js')).default
  const app = Fastify()
  const perMessageDeflate = { compressor, decompressor }
  if (level !== undefined) perMessageDeflate.level = Number(level)
  await app.register(websocket, { perMessageDeflate })
  app.get('/', { websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app.server.address().port
}

function startWs () {
  const { WebSocketServer } = require('ws')
  const server = http.createServer((req, res) => { res.writeHead(426); res.end() })
  const wss = new WebSocketServer({ server, perMessageDeflate: true, clientTracking: false })
  wss.on('connection', socket => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
    socket.on('error', () => {})
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

process.on('message', msg => { if (msg === 'measure') measure() })
process.on('disconnect', () => process.exit(0))
;(mode === 'ws' ? startWs() : startOurs()).then(
  port => process.send({ ready: true, port, pid: process.pid }),
  err => { console.error(err); process.exit(1) }
)
