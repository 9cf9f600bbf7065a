'use strict'
// `ws` echo server, fastest setup: its own http server, no permessage-deflate, no client tracking.
//   node bench/servers/ws.js --port N               (ws uses the native `bufferutil` for masking)
//   WS_NO_BUFFER_UTIL=1 node bench/servers/ws.js    (ws masks in JavaScript: ws/lib/buffer-util.js
//                                                    skips require('bufferutil') when this env is set)
//   WS_DEFLATE=1 node bench/servers/ws.js           (permessage-deflate on, ws defaults)
// Echoes text as text and binary as binary on every path.
const http = require('node:http')
const { WebSocketServer } = require('ws')
const { portFromArgs, printReady, exitOnSignals } = require('./common')

/** Which masking code ws actually loaded: look for bufferutil's native addon in the module cache. */
function maskingImplementation () {
  const loaded = Object.keys(require.cache).filter(p => p.includes(`${require('node:path').sep}bufferutil${require('node:path').sep}`))
  if (loaded.some(p => p.endsWith('.node'))) return 'native'
  if (loaded.some(p => p.endsWith('fallback.js'))) return 'bufferutil-js-fallback'
  return 'none(js)'
}

const deflate = process.env.WS_DEFLATE === '1'
const server = http.createServer((req, res) => { res.writeHead(426); res.end() })
const wss = new WebSocketServer({
  server,
  perMessageDeflate: deflate,
  clientTracking: false,
  maxPayload: 64 * 1024 * 1024
})
wss.on('connection', socket => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  socket.on('error', () => {})
})
exitOnSignals()
server.listen(portFromArgs(), '127.0.0.1', () => {
  printReady('ws', server.address().port, {
    bufferutil: maskingImplementation(),
    WS_NO_BUFFER_UTIL: process.env.WS_NO_BUFFER_UTIL ? 1 : 0,
    deflate: deflate ? 1 : 0
  })
})
