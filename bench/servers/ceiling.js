'use strict'
// The ceiling: the least work a WebSocket echo server on Node's `net` layer can do.
//   node bench/servers/ceiling.js --port N
// Handshake (SHA-1 accept), then every client frame is unmasked and re-framed as a server frame
// with no validation and no limits (no UTF-8 check, no size cap, no backpressure, fragments echo
// as fragments). Everything one `data` event produces leaves in ONE socket.write(). A ping is
// answered with a pong, a pong is dropped, a close frame is echoed and the socket ended (enough
// for a load generator's close handshake). After the handshake the socket reads straight into one
// buffer shared by every connection (net.Socket's `onread` mechanism, as lib/transport.ts does),
// so no per-read allocation either: no Node JavaScript server on `net` can beat this.
const net = require('node:net')
const crypto = require('node:crypto')
const os = require('node:os')
const { portFromArgs, printReady, exitOnSignals } = require('./common')

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const HEADER_END = Buffer.from('\r\n\r\n')
const MAX_HANDSHAKE_BYTES = 16 * 1024
const LITTLE_ENDIAN = os.endianness() === 'LE'
// Below this, a byte loop is cheaper than building a Uint32Array view.
const WORD_MASK_MIN = 32

function acceptKey (key) {
  return crypto.createHash('sha1').update(key + GUID).digest('base64')
}

function handshakeResponse (head) {
  const match = /\r\nsec-websocket-key:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(head)
  if (match === null) return null
  return 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(match[1])}\r\n\r\n`
}

/**
 * XOR `len` bytes of `buf` from `start` with the 4-byte `mask`, where the first byte uses mask byte
 * `phase`. Bytes until a 4-byte aligned address go one by one, the middle as 32-bit words.
 */
function unmaskInPlace (buf, start, len, mask, phase) {
  let i = start
  const end = start + len
  if (LITTLE_ENDIAN && len >= WORD_MASK_MIN) {
    while (((buf.byteOffset + i) & 3) !== 0) { buf[i] ^= mask[phase]; phase = (phase + 1) & 3; i++ }
    const words = (end - i) >>> 2
    const word = (mask[phase] | (mask[(phase + 1) & 3] << 8) | (mask[(phase + 2) & 3] << 16) |
      (mask[(phase + 3) & 3] << 24)) >>> 0
    const view = new Uint32Array(buf.buffer, buf.byteOffset + i, words)
    for (let w = 0; w < words; w++) view[w] ^= word
    i += words * 4 // a whole number of words keeps `phase` unchanged
  }
  for (; i < end; i++) { buf[i] ^= mask[phase]; phase = (phase + 1) & 3 }
  return phase
}

/** Streaming re-framer for one connection: `feed(chunk)` returns the bytes to write (or null). */
class Reframer {
  constructor () {
    this.header = Buffer.alloc(14) // the largest client header: 2 + 8 (length) + 4 (mask)
    this.headerHave = 0
    this.remaining = 0 // payload bytes of the current frame still to come
    this.inPayload = false
    this.mask = Buffer.alloc(4)
    this.masked = false
    this.phase = 0
    this.drop = false // pong payloads are consumed, not echoed
    this.closeSeen = false
  }

  /** Size the header will have once its first two bytes are known. */
  headerSize () {
    const len7 = this.header[1] & 0x7f
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0
    return 2 + ext + ((this.header[1] & 0x80) !== 0 ? 4 : 0)
  }

  /** The header is complete: write the server header (same FIN/RSV/opcode, no mask) into `out`. */
  startFrame (out, pos) {
    const h = this.header
    const len7 = h[1] & 0x7f
    let length
    let at = 2
    if (len7 === 126) { length = h.readUInt16BE(2); at = 4 } else if (len7 === 127) {
      length = h.readUInt32BE(2) * 0x100000000 + h.readUInt32BE(6); at = 10
    } else length = len7
    this.masked = (h[1] & 0x80) !== 0
    if (this.masked) h.copy(this.mask, 0, at, at + 4)
    this.remaining = length
    this.phase = 0
    const opcode = h[0] & 0x0f
    this.drop = opcode === 0x0a
    if (opcode === 0x08) this.closeSeen = true
    this.inPayload = true
    this.headerHave = 0
    if (this.drop) return pos
    out[pos++] = opcode === 0x09 ? (h[0] & 0xf0) | 0x0a : h[0]
    if (length < 126) out[pos++] = length
    else if (length < 65536) { out[pos++] = 126; out.writeUInt16BE(length, pos); pos += 2 } else {
      out[pos++] = 127
      out.writeUInt32BE(Math.floor(length / 0x100000000), pos)
      out.writeUInt32BE(length >>> 0, pos + 4)
      pos += 8
    }
    return pos
  }

  feed (chunk) {
    // Output is never longer than the input plus one header that began in an earlier chunk.
    const out = Buffer.allocUnsafe(chunk.length + 14)
    let pos = 0
    let i = 0
    while (i < chunk.length) {
      if (!this.inPayload) {
        // Collect header bytes, possibly across chunks.
        const need = this.headerHave < 2 ? 2 : this.headerSize()
        const take = Math.min(need - this.headerHave, chunk.length - i)
        chunk.copy(this.header, this.headerHave, i, i + take)
        this.headerHave += take
        i += take
        if (this.headerHave >= 2 && this.headerHave === this.headerSize()) pos = this.startFrame(out, pos)
      }
      if (this.inPayload) {
        const take = Math.min(this.remaining, chunk.length - i)
        if (take > 0 && !this.drop) {
          chunk.copy(out, pos, i, i + take)
          if (this.masked) this.phase = unmaskInPlace(out, pos, take, this.mask, this.phase)
          pos += take
        }
        i += take
        this.remaining -= take
        if (this.remaining === 0) this.inPayload = false
      }
    }
    return pos === 0 ? null : out.subarray(0, pos)
  }
}

// ---- reads into one shared buffer (see lib/transport.ts for why and how) ----
const SHARED = Buffer.allocUnsafeSlow(64 * 1024)
let readSymbols

function readIntoShared (socket, onChunk) {
  if (readSymbols === undefined) {
    const byName = Object.fromEntries(Object.getOwnPropertySymbols(socket).map(sym => [sym.description, sym]))
    readSymbols = byName.kBuffer && byName.kBufferCb ? byName : null
  }
  const handle = socket._handle
  if (readSymbols === null || socket.readableLength !== 0 || !handle || typeof handle.useUserBuffer !== 'function') return false
  socket.removeAllListeners('data')
  socket[readSymbols.kBuffer] = SHARED
  socket[readSymbols.kBufferCb] = (nread, buf) => onChunk(buf.subarray(0, nread))
  handle.useUserBuffer(SHARED)
  return true
}

function onConnection (socket) {
  socket.setNoDelay(true)
  socket.on('error', () => socket.destroy())
  let head = null // handshake bytes until the blank line
  let reframer = null
  const onFrames = chunk => {
    if (socket.writableEnded) return // a close frame was echoed: nothing more is read
    const echoed = reframer.feed(chunk)
    if (echoed !== null) socket.write(echoed)
    if (reframer.closeSeen && !reframer.inPayload) socket.end()
  }
  socket.on('data', chunk => {
    if (socket.writableEnded) return
    if (reframer === null) {
      head = head === null ? chunk : Buffer.concat([head, chunk])
      const end = head.indexOf(HEADER_END)
      if (end === -1) {
        if (head.length > MAX_HANDSHAKE_BYTES) socket.destroy()
        return
      }
      const response = handshakeResponse(head.toString('latin1', 0, end + 2))
      if (response === null) { socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); return }
      reframer = new Reframer()
      const rest = head.subarray(end + 4)
      head = null
      const echoed = rest.length > 0 ? reframer.feed(rest) : null
      const hs = Buffer.from(response, 'latin1')
      socket.write(echoed === null ? hs : Buffer.concat([hs, echoed]))
      if (reframer.closeSeen && !reframer.inPayload) socket.end()
      else readIntoShared(socket, onFrames)
      return
    }
    onFrames(chunk)
  })
}

function createCeilingServer () {
  return net.createServer({ noDelay: true }, onConnection)
}

module.exports = { createCeilingServer, Reframer, unmaskInPlace }

if (require.main === module) {
  const server = createCeilingServer()
  exitOnSignals()
  server.listen(portFromArgs(), '127.0.0.1', () => printReady('ceiling', server.address().port))
}
