'use strict'
// One client connection of the JS generator: handshake over raw TCP (verified 101 and accept key),
// then a streaming reader that counts server messages without copying payloads.
const net = require('node:net')
const crypto = require('node:crypto')
const { clientFrame } = require('./frames')

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const HEADER_END = Buffer.from('\r\n\r\n')

class HandshakeError extends Error {}

/**
 * Streaming reader of server frames. Calls `onMessage(opcode, length, compressed)` when the last
 * frame of a data message has fully arrived (payload bytes are skipped, never copied); answers
 * pings through `sendPong(frame)`; reports a close frame or a protocol error through callbacks.
 */
class FrameReader {
  constructor ({ onMessage, onClose, onProtocolError, sendPong }) {
    this.onMessage = onMessage
    this.onClose = onClose
    this.onProtocolError = onProtocolError
    this.sendPong = sendPong
    this.header = Buffer.alloc(14)
    this.headerHave = 0
    this.remaining = 0
    this.inPayload = false
    this.fin = false
    this.opcode = 0
    this.control = null // control frame payload being collected
    this.controlHave = 0
    this.messageOpcode = 0
    this.messageLength = 0
    this.compressed = false
  }

  headerSize (h) {
    const len7 = h[1] & 0x7f
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1] & 0x80) !== 0 ? 4 : 0)
  }

  /** Decode a complete header at `h[at..]`; returns false on a protocol error. */
  begin (h, at) {
    const b0 = h[at]
    const len7 = h[at + 1] & 0x7f
    let length = len7
    if (len7 === 126) length = h.readUInt16BE(at + 2)
    else if (len7 === 127) length = h.readUInt32BE(at + 2) * 0x100000000 + h.readUInt32BE(at + 6)
    this.fin = (b0 & 0x80) !== 0
    this.opcode = b0 & 0x0f
    this.remaining = length
    this.inPayload = true
    if (this.opcode >= 0x8) {
      if (length > 125 || !this.fin) return false
      this.control = Buffer.allocUnsafe(length)
      this.controlHave = 0
    } else if (this.opcode === 0) {
      if (this.messageOpcode === 0) return false
      this.messageLength += length
    } else {
      if (this.messageOpcode !== 0) return false
      this.messageOpcode = this.opcode
      this.messageLength = length
      this.compressed = (b0 & 0x40) !== 0
    }
    return true
  }

  end () {
    this.inPayload = false
    if (this.opcode >= 0x8) {
      const payload = this.control
      this.control = null
      if (this.opcode === 0x9) this.sendPong(clientFrame(0xa, payload))
      else if (this.opcode === 0x8) this.onClose(payload.length >= 2 ? payload.readUInt16BE(0) : 1005)
      return
    }
    if (this.fin) {
      const opcode = this.messageOpcode
      this.messageOpcode = 0
      this.onMessage(opcode, this.messageLength, this.compressed)
    }
  }

  feed (chunk) {
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (!this.inPayload) {
        if (this.headerHave === 0 && n - i >= 2 && n - i >= this.headerSize(chunk.subarray(i, i + 2))) {
          const size = this.headerSize(chunk.subarray(i, i + 2))
          if (!this.begin(chunk, i)) { this.onProtocolError(); return }
          i += size
        } else {
          const need = this.headerHave < 2 ? 2 : this.headerSize(this.header)
          const take = Math.min(need - this.headerHave, n - i)
          chunk.copy(this.header, this.headerHave, i, i + take)
          this.headerHave += take
          i += take
          if (this.headerHave < 2 || this.headerHave < this.headerSize(this.header)) continue
          this.headerHave = 0
          if (!this.begin(this.header, 0)) { this.onProtocolError(); return }
        }
        if (this.remaining === 0) { this.end(); continue }
      }
      const take = Math.min(this.remaining, n - i)
      if (this.control !== null) {
        chunk.copy(this.control, this.controlHave, i, i + take)
        this.controlHave += take
      }
      i += take
      this.remaining -= take
      if (this.remaining === 0) this.end()
    }
  }
}

function upgradeRequest (host, port, path, key, extensions) {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n'
}

/**
 * Open a TCP connection and complete the WebSocket handshake. Resolves `{ socket, rest, extensions }`
 * where `rest` holds any frame bytes that arrived with the 101; rejects with HandshakeError (bad
 * response) or the socket error (connect failure). `timeoutMs` bounds the whole handshake.
 * With `deflate`, `offer` is the Sec-WebSocket-Extensions sent (browsers send
 * `permessage-deflate; client_max_window_bits`).
 */
function openConnection ({ host, port, path = '/', localAddress, deflate = false, offer = 'permessage-deflate; client_no_context_takeover', timeoutMs = 10000 }) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64')
    const socket = net.connect({ host, port, localAddress, noDelay: true })
    let head = null
    const fail = (err) => { clearTimeout(timer); socket.destroy(); reject(err) }
    const timer = setTimeout(() => fail(new HandshakeError('handshake timeout')), timeoutMs)
    socket.on('error', fail)
    socket.on('close', () => fail(new HandshakeError('closed during handshake')))
    socket.on('connect', () => {
      socket.write(upgradeRequest(host, port, path, key, deflate ? offer : ''))
    })
    socket.on('data', function onData (chunk) {
      head = head === null ? chunk : Buffer.concat([head, chunk])
      const end = head.indexOf(HEADER_END)
      if (end === -1) { if (head.length > 16384) fail(new HandshakeError('response too long')); return }
      const text = head.toString('latin1', 0, end)
      const expected = crypto.createHash('sha1').update(key + GUID).digest('base64')
      const accept = /\r\nsec-websocket-accept:[ \t]*(\S+)/i.exec(text)
      const ext = /\r\nsec-websocket-extensions:[ \t]*([^\r\n]*)/i.exec(text)
      if (!/^HTTP\/1\.1 101 /.test(text)) return fail(new HandshakeError(`status: ${text.split('\r\n')[0]}`))
      if (accept === null || accept[1] !== expected) return fail(new HandshakeError('bad Sec-WebSocket-Accept'))
      const extensions = ext === null ? '' : ext[1]
      if (!deflate && extensions !== '') return fail(new HandshakeError(`extension not offered: ${extensions}`))
      if (deflate && !/permessage-deflate/.test(extensions)) return fail(new HandshakeError('permessage-deflate not negotiated'))
      clearTimeout(timer)
      socket.removeAllListeners('data')
      socket.removeAllListeners('close')
      socket.removeAllListeners('error')
      resolve({ socket, rest: head.subarray(end + 4), extensions })
    })
  })
}

module.exports = { FrameReader, openConnection, HandshakeError }
