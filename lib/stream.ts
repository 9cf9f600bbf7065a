// A Duplex stream over a WebSocket (DESIGN.md section 1), for pipeline()-style code: each
// message read is one chunk, each chunk written is one message. Backpressure goes both ways:
// when the readable side is full the socket stops reading from TCP, and writes wait for the
// send callback (bytes handed to the kernel) before the next is accepted.
import { Duplex } from 'node:stream'
import type { WebSocket } from './socket'
import { OPEN } from './engine/constants'

export interface WebSocketStreamOptions {
  /** send written chunks as binary messages (default true; false sends text) */
  binary?: boolean
  /** readable high-water mark in messages (objectMode) or bytes (default Node's) */
  readableHighWaterMark?: number
  /** emit messages as objects rather than a byte stream (default false) */
  readableObjectMode?: boolean
}

export function createWebSocketStream (socket: WebSocket, options: WebSocketStreamOptions = {}): Duplex {
  const binary = options.binary ?? true
  let paused = false
  const stream = new Duplex({
    readableObjectMode: options.readableObjectMode ?? false,
    readableHighWaterMark: options.readableHighWaterMark,
    read () {
      if (paused) {
        paused = false
        socket.resume()
      }
    },
    write (chunk: Buffer | string, _encoding, callback) {
      if (socket.readyState !== OPEN) {
        callback(new Error('WebSocket is not open'))
        return
      }
      socket.send(chunk, { binary }, err => callback(err ?? null))
    },
    final (callback) {
      // a clean end of the writable side closes the WebSocket normally
      if (socket.readyState === OPEN) socket.close(1000)
      callback()
    },
    destroy (err, callback) {
      if (socket.readyState !== 3) socket.terminate()
      callback(err)
    }
  })
  socket.on('message', (data: Buffer) => {
    if (!stream.push(data) && !paused) {
      paused = true
      socket.pause()
    }
  })
  socket.once('close', () => { stream.push(null) })
  socket.on('error', (err: Error) => stream.destroy(err))
  return stream
}
