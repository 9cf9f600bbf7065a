// While a compressed message inflates the parser holds later bytes; past 1 MiB the socket stops
// reading from its transport instead of buffering without bound, and resumes once delivered.
import t from 'tap'
import { duplexPair } from 'node:stream'
import { WebSocket, type SocketContext } from '../lib/socket'
import { sessionOf } from '../lib/session'
import type { PerMessageDeflate } from '../lib/engine/deflate'
import { frame } from './helpers/frames'

t.test('a paused parser past 1 MiB of backlog pauses the stream, and delivery resumes it', async t => {
  let finishInflate: ((err: Error | null, out?: Buffer) => void) | null = null
  // a codec whose inflate finishes only when the test says so
  const codec = {
    threshold: 1 << 30,
    shareKey: null,
    decompress (_data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void) { if (fin) finishInflate = cb; else cb(null, Buffer.alloc(0)) },
    compress () {},
    close () {}
  } as unknown as PerMessageDeflate
  const ctx: SocketContext = {
    handlers: null, onHandlerError () {}, onProtocolError () {}, maxBackpressure: 1 << 30, backpressurePolicy: 'close', registry: null
  }
  const [client, server] = duplexPair()
  const ws = new WebSocket(server, { role: 'server', deflate: codec }, ctx, '', 'permessage-deflate', null)
  const messages: number[] = []
  ws.on('message', (data: Buffer) => messages.push(data.length))
  t.teardown(() => { client.destroy(); server.destroy() })

  client.write(frame({ opcode: 2, rsv: 4, payload: Buffer.from([0x02, 0x00]), mask: true }))
  const filler = frame({ opcode: 2, payload: Buffer.alloc(64 * 1024), mask: true })
  for (let i = 0; i < 40; i++) client.write(filler) // 2.5 MiB behind the inflating message
  for (let i = 0; i < 100 && !server.isPaused(); i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.ok(server.isPaused(), 'the stream stopped reading')
  const backlog = sessionOf(ws).conn.parser.backlogLength
  t.ok(backlog > 1 << 20 && backlog < 2 << 20, `the backlog stopped just past 1 MiB (${backlog} bytes)`)
  t.equal(messages.length, 0, 'nothing overtook the inflating message')

  t.ok(finishInflate !== null)
  finishInflate!(null, Buffer.from('inflated'))
  for (let i = 0; i < 100 && messages.length < 41; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(messages[0], 8, 'the inflated message first')
  t.equal(messages.length, 41, 'then every message that waited, once reading resumed')
  t.notOk(server.isPaused(), 'reading resumed')
})
