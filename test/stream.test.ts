import t from 'tap'
import { pipeline } from 'node:stream/promises'
import { Readable, Writable } from 'node:stream'
import Fastify from 'fastify'
import websocket, { createWebSocketStream } from '../lib/index'
import { connect } from '../lib/client/index'

t.test('a Duplex over a socket: messages in as chunks, chunks out as messages, end closes 1000', async t => {
  const app = Fastify()
  await app.register(websocket)
  const closes: number[] = []
  app.get('/', { websocket: true }, socket => {
    const duplex = createWebSocketStream(socket)
    socket.on('close', (code: number) => closes.push(code))
    // echo through the stream API: what is read is written back
    duplex.pipe(duplex)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const client = await connect(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`)
  const clientStream = createWebSocketStream(client, { readableObjectMode: true })
  const got: string[] = []
  const collector = new Writable({ objectMode: true, write (chunk: Buffer, _e, cb) { got.push(chunk.toString()); if (got.length === 3) clientStream.end(); cb() } })
  const reading = pipeline(clientStream, collector)
  for (const m of ['one', 'two', 'three']) clientStream.write(Buffer.from(m))
  await reading
  t.same(got, ['one', 'two', 'three'])
  for (let i = 0; i < 100 && closes.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
  t.same(closes, [1000], 'ending the writable side closed the WebSocket normally')
})

t.test('a slow reader pauses the socket: the server stops reading TCP instead of buffering', async t => {
  const app = Fastify()
  await app.register(websocket)
  let serverStream: import('node:stream').Duplex | null = null
  app.get('/', { websocket: true }, socket => { serverStream = createWebSocketStream(socket, { readableObjectMode: true, readableHighWaterMark: 4 }) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const client = await connect(`ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`)
  for (let i = 0; i < 200; i++) client.send(Buffer.alloc(16 * 1024, i))
  // eslint-disable-next-line no-unmodified-loop-condition -- a listener sets it while the loop awaits
  for (let i = 0; i < 100 && serverStream === null; i++) await new Promise(resolve => setTimeout(resolve, 10))
  await new Promise(resolve => setTimeout(resolve, 200))
  const buffered = (serverStream as unknown as Readable).readableLength
  t.ok(buffered <= 8, `only a few messages buffered while nobody reads (${buffered})`)
  let count = 0
  for await (const chunk of serverStream as unknown as Readable) {
    t.equal((chunk as Buffer)[0], count & 0xff)
    if (++count === 200) break
  }
  t.equal(count, 200, 'every message arrived, in order, once read')
  client.close()
})
