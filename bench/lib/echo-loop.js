'use strict'
// A server socket of the library echoing N messages of 32 B over an in-memory Duplex: the same
// path a 32 B echo takes (read, parse, unmask, deliver to the route's message handler, send,
// flush), minus the network, so that the work is the same from one run to the next and its
// instructions can be counted (bench/observability-cost.js runs this under cachegrind).
//   node --predictable bench/lib/echo-loop.js MESSAGES [--subscribed]
// --subscribed: a no-op subscriber on the per-message channels (message:in, message:out).
// Frames arrive 16 to a chunk, as 16 pipelined messages of one client do.
const { Duplex } = require('node:stream')
const crypto = require('node:crypto')
const { WebSocket } = require('../../dist/socket.js')
const { RouteCounters } = require('../../dist/stats.js')

const messages = Number(process.argv[2])
if (process.argv.includes('--subscribed')) {
  const dc = require('node:diagnostics_channel')
  const ignore = () => {}
  dc.subscribe('fastify-rfc6455:message:in', ignore)
  dc.subscribe('fastify-rfc6455:message:out', ignore)
}
const PER_CHUNK = 16
const PAYLOAD = 32

function clientFrame () {
  const mask = crypto.randomBytes(4)
  const frame = Buffer.alloc(6 + PAYLOAD)
  frame[0] = 0x81
  frame[1] = 0x80 | PAYLOAD
  mask.copy(frame, 2)
  for (let i = 0; i < PAYLOAD; i++) frame[6 + i] = 0x61 ^ mask[i & 3]
  return frame
}

let written = 0
const stream = new Duplex({
  read () {},
  write (chunk, _enc, cb) {
    written += chunk.length
    cb()
  }
})
const ctx = {
  handlers: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } },
  onHandlerError (_socket, err) { throw err },
  onProtocolError (_socket, err) { throw err },
  maxBackpressure: 16 * 1024 * 1024,
  backpressurePolicy: 'close',
  registry: null,
  stats: new RouteCounters(),
  route: '/'
}
const socket = new WebSocket(stream, { role: 'server', maxPayload: 1 << 20 }, ctx, '', '', null, { sharedReads: false })
socket.on('error', err => { throw err })

const chunk = Buffer.concat(Array.from({ length: PER_CHUNK }, clientFrame))
const chunks = Math.ceil(messages / PER_CHUNK)
let pushed = 0

function next () {
  if (pushed === chunks) {
    const expected = chunks * PER_CHUNK * (2 + PAYLOAD)
    if (written !== expected) throw new Error(`echoed ${written} bytes, expected ${expected}`)
    process.stdout.write(`echoed ${chunks * PER_CHUNK} messages\n`)
    return
  }
  pushed++
  // a fresh copy each time: the parser unmasks in place a chunk it was given to keep
  stream.push(Buffer.from(chunk))
  setImmediate(next)
}
next()
