'use strict'
// Broadcast across a node:cluster with our clusterAdapter(): the primary runs setupPrimary() and
// forks W workers, all listening on one port (the cluster hands connections out round-robin), so
// the subscribers are split between them. Every connection subscribes to topic `all`; a text
// message `go N` makes the worker it reached publish one message to the topic N times, which the
// primary relays to every worker (the publishing one's included).
//   node bench/servers/broadcast-cluster.js --port N [--workers W] [--size BYTES]
// The ready line comes from the primary (its pid is what the runner samples) once every worker
// listens. Exits with code 3 and a SKIP line while the library or its cluster adapter is missing.
const cluster = require('node:cluster')
const fs = require('node:fs')
const path = require('node:path')
const { arg, portFromArgs, printReady, skip, exitOnSignals } = require('./common')

const dist = path.join(__dirname, '..', '..', 'dist', 'index.js')
if (!fs.existsSync(dist)) skip('dist/index.js does not exist (run npm run build)')
const lib = require(dist)
if (typeof lib.clusterAdapter !== 'function' || typeof lib.setupPrimary !== 'function') skip('clusterAdapter() is not implemented yet')

const port = portFromArgs()
const workers = Number(arg('workers') ?? 2)
const size = Number(arg('size') ?? 32)

if (cluster.isPrimary) {
  lib.setupPrimary()
  let listening = 0
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', m => {
      if (m?.listening === true && ++listening === workers) printReady('broadcast-cluster', port, { workers, size })
    })
  }
  // a worker that dies fails the run (the runner reports the primary's exit)
  cluster.on('exit', (worker, code, signal) => {
    if (!worker.exitedAfterDisconnect) {
      console.error(`worker ${worker.process.pid} died (${code ?? signal})`)
      process.exit(1)
    }
  })
  exitOnSignals()
} else {
  const main = async () => {
    const Fastify = require('fastify')
    const plugin = lib.default ?? lib
    const msg = 'b'.repeat(size)
    const app = Fastify({ logger: false })
    await app.register(plugin, { maxPayload: 1 << 20, pubsub: lib.clusterAdapter() })
    app.get('/', { websocket: true }, socket => {
      socket.subscribe('all')
      socket.on('message', (data, isBinary) => {
        const go = isBinary ? null : /^go (\d+)$/.exec(data.toString())
        if (go === null) return
        const n = Number(go[1])
        for (let i = 0; i < n; i++) app.websocketPublish('all', msg)
      })
    })
    await app.listen({ port, host: '127.0.0.1' })
    process.send({ listening: true })
  }
  main().catch(err => { console.error(err); process.exit(1) })
}
