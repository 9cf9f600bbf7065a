'use strict'
// Broadcast with `ws`: every connection is a subscriber; a text message `go N` from any of them
// sends one message to every client, N times, with the plain loop of send() a ws user writes.
//   node bench/servers/broadcast-ws.js --port N [--size BYTES]     (WS_NO_BUFFER_UTIL=1 honoured)
const http = require('node:http')
const { WebSocketServer } = require('ws')
const { arg, portFromArgs, printReady, exitOnSignals } = require('./common')

const msg = 'b'.repeat(Number(arg('size') ?? 32))
const server = http.createServer((req, res) => { res.writeHead(426); res.end() })
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1 << 20 })

wss.on('connection', socket => {
  socket.on('error', () => {})
  socket.on('message', (data, isBinary) => {
    const go = isBinary ? null : /^go (\d+)$/.exec(data.toString())
    if (go === null) return
    const n = Number(go[1])
    for (let i = 0; i < n; i++) {
      for (const c of wss.clients) c.send(msg)
    }
  })
})
exitOnSignals()
server.listen(portFromArgs(), '127.0.0.1', () => printReady('broadcast-ws', server.address().port, { size: msg.length }))
