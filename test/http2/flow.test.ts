// HTTP/2 flow control is the WebSocket's backpressure (RFC 8441 over RFC 9113 section 5.2):
// a peer that stops reading leaves our output in the stream's buffer, where maxBackpressure
// sees it; a socket that stops reading stops reopening the peer's window, so the peer's data
// waits on the peer's side. Peers run in another process.
import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import type { WebSocket } from '../../lib/index'
import { startApp, waitFor } from '../helpers/app'
import { startPeer } from '../helpers/h2-peer'

const H2C = { fastify: { http2: true } as FastifyServerOptions }
const CHUNK = 'y'.repeat(64 * 1024)
const KiB = 1024

t.test('a peer that stops reading: our output waits in the stream, counted by bufferedAmount, and arrives once it reads', async t => {
  let server: WebSocket | null = null
  const app = await startApp(t, app => {
    app.get('/out', { websocket: { open (socket) { server ??= socket } } })
  }, H2C)
  const peer = await startPeer(t, app.http(''))
  await peer.open(1, '/out')
  await waitFor(() => server !== null)
  peer.command({ op: 'pause', id: 1 })
  // a round trip over the same session, so that the pause is in effect before we send
  await peer.open(2, '/out')
  const socket = server as unknown as WebSocket
  let sent = 0
  // one 64 KiB message a turn, until the stream holds more than 512 KiB: with nothing
  // holding the data back (no flow control) this would run to the bound of 200
  while (sent < 200 && socket.bufferedAmount <= 512 * KiB) {
    socket.send(CHUNK)
    sent++
    await new Promise(resolve => setImmediate(resolve))
  }
  t.ok(sent < 200, `the peer's window closed after ${sent} messages (${Math.round(socket.bufferedAmount / KiB)} KiB buffered here)`)
  t.ok(socket.bufferedAmount > 512 * KiB)
  peer.command({ op: 'resume', id: 1 })
  for (let i = 0; i < sent; i++) t.equal((await peer.message(1, 10_000)).length, CHUNK.length, `message ${i + 1} of ${sent}`)
  await waitFor(() => socket.bufferedAmount === 0)
})

t.test('a socket that stops reading: the peer\'s data waits on the peer\'s side (its window stays closed), none is lost', async t => {
  let server: WebSocket | null = null
  const received: number[] = []
  const app = await startApp(t, app => {
    app.get('/in', {
      websocket: {
        open (socket) {
          server = socket
          socket.pause()
        },
        message (_socket, data) { received.push(data.length) }
      }
    })
  }, H2C)
  const peer = await startPeer(t, app.http(''))
  await peer.open(1, '/in')
  await waitFor(() => server !== null)
  const N = 40 // 2.5 MiB, far beyond HTTP/2's default 64 KiB window
  for (let i = 0; i < N; i++) peer.send(1, CHUNK)
  // the peer still holds most of it, unsent: the server's paused socket reopened no window
  let held = 0
  for (let tries = 0; tries < 50 && held < 1024 * KiB; tries++) {
    peer.command({ op: 'stats', id: 1 })
    held = (await peer.take(r => r.id === 1 && r.ev === 'stats', 'stats')).writableLength ?? 0
  }
  t.ok(held >= 1024 * KiB, `${Math.round(held / KiB)} KiB wait at the peer`)
  t.equal(received.length, 0, 'nothing delivered while paused')
  ;(server as unknown as WebSocket).resume()
  await waitFor(() => received.length === N, 10_000)
  t.ok(received.every(n => n === CHUNK.length), `all ${N} messages arrived once resumed`)
})
