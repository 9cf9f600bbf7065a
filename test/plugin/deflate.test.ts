// permessage-deflate end to end over real sockets: negotiation in every ws client option
// combination, real traffic in both directions, RSV1 seen on the wire, context takeover,
// undici, a compression bomb, and order under the zlib concurrency limit.
import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import { deflateRawSync, constants as zlibConstants } from 'node:zlib'
import Fastify, { type FastifyInstance } from 'fastify'
import WS from 'ws'
import { WebSocket as UndiciWebSocket } from 'undici'
import websocket from '../../lib/index'
import type { DeflateOptions } from '../../lib/handshake/extensions'
import { decodeFrames, frame } from '../helpers/frames'

async function echoApp (t: Test, perMessageDeflate: boolean | DeflateOptions, maxPayload = 16 << 20): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify()
  await app.register(websocket, { perMessageDeflate, maxPayload })
  app.get('/', { websocket: { message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  return { app, url: `ws://127.0.0.1:${port}/` }
}

function open (url: string, options: WS.ClientOptions): Promise<{ client: WS, wire: Buffer[], early: string[] }> {
  return new Promise((resolve, reject) => {
    const client = new WS(url, options)
    const wire: Buffer[] = []
    // messages the server sends at once can arrive with the 101, before any later listener
    const early: string[] = []
    client.on('message', (data: Buffer) => early.push(data.toString()))
    client.once('upgrade', res => {
      // every byte the server sends after the 101, before ws decodes it
      res.socket.prependListener('data', (chunk: Buffer) => wire.push(Buffer.from(chunk)))
    })
    client.once('open', () => resolve({ client, wire, early }))
    client.once('error', reject)
    client.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
  })
}

function exchange (client: WS, messages: Array<string | Buffer>): Promise<Array<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const got: Array<string | Buffer> = []
    const timer = setTimeout(() => reject(new Error('echo timed out')), 10_000)
    client.on('message', (data: Buffer, isBinary: boolean) => {
      got.push(isBinary ? data : data.toString())
      if (got.length === messages.length) { clearTimeout(timer); resolve(got) }
    })
    for (const m of messages) client.send(m)
  })
}

const combos: Array<[string, WS.PerMessageDeflateOptions | boolean]> = [
  ['defaults', true],
  ['server_no_context_takeover', { serverNoContextTakeover: true }],
  ['client_no_context_takeover', { clientNoContextTakeover: true }],
  ['both no_context_takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ['server_max_window_bits=10', { serverMaxWindowBits: 10 }],
  ['client_max_window_bits=9', { clientMaxWindowBits: 9 }],
  // ws sends client_max_window_bits with no value for `true`; its types only admit numbers
  ['client_max_window_bits without a value', { clientMaxWindowBits: true } as unknown as WS.PerMessageDeflateOptions],
  ['everything limited', { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 12 }]
]

for (const [name, offer] of combos) {
  t.test(`a ws client offering ${name} negotiates it and every message round-trips compressed`, async t => {
    const { url } = await echoApp(t, { threshold: 64 })
    const { client, wire } = await open(url, { perMessageDeflate: offer })
    t.match(client.extensions, /^permessage-deflate/)
    const messages: Array<string | Buffer> = ['small', 'compressible text '.repeat(500), Buffer.alloc(300_000, 9), '', 'héllo wörld ✓ '.repeat(40)]
    const got = await exchange(client, messages)
    t.same(got, messages)
    const frames = decodeFrames(Buffer.concat(wire))
    t.same(frames.map(f => f.rsv === 4), [false, true, true, false, true], 'RSV1 exactly on messages over the threshold')
    t.ok(frames[2].payload.length < 10_000, 'the 300 KB binary travelled compressed')
    client.close()
  })
}

t.test('context takeover makes a repeated message cheaper; server_no_context_takeover does not', async t => {
  const sizes: Record<string, number[]> = {}
  for (const [label, serverOpts] of [['takeover', { serverNoContextTakeover: false }], ['no takeover', { serverNoContextTakeover: true }]] as const) {
    const { url } = await echoApp(t, { threshold: 0, ...serverOpts })
    const { client, wire } = await open(url, { perMessageDeflate: true })
    const text = JSON.stringify(Array.from({ length: 60 }, (_, i) => ({ id: i, user: `user${i}`, text: 'a fairly ordinary chat line' })))
    await exchange(client, [text, text])
    sizes[label] = decodeFrames(Buffer.concat(wire)).map(f => f.payload.length)
    client.close()
  }
  t.ok(sizes.takeover[1] < sizes.takeover[0] / 2, `with takeover the second copy is much smaller: ${sizes.takeover}`)
  t.equal(sizes['no takeover'][1], sizes['no takeover'][0], `without takeover both compress alike: ${sizes['no takeover']}`)
})

t.test('send({ compress: false }) and messages under the threshold go uncompressed', async t => {
  const app = Fastify()
  await app.register(websocket, { perMessageDeflate: { threshold: 100 } })
  app.get('/', { websocket: true }, socket => {
    socket.send('x'.repeat(50))
    socket.send('y'.repeat(5000), { compress: false })
    socket.send('z'.repeat(5000))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const { client, wire, early: got } = await open(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true })
  for (let i = 0; i < 250 && got.length < 3; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(got.map(s => s[0] + s.length), ['x50', 'y5000', 'z5000'], 'in order')
  t.same(decodeFrames(Buffer.concat(wire)).map(f => f.rsv), [0, 0, 4])
  client.close()
})

t.test('a client that offers nothing, or only unknown extensions, gets no extension', async t => {
  const { url } = await echoApp(t, true)
  const { client } = await open(url, { perMessageDeflate: false })
  t.equal(client.extensions, '')
  t.same(await exchange(client, ['plain']), ['plain'])
  client.close()
})

t.test('with perMessageDeflate off, an offer is declined', async t => {
  const { url } = await echoApp(t, false)
  const { client } = await open(url, { perMessageDeflate: true })
  t.equal(client.extensions, '')
  client.close()
})

t.test("undici's WebSocket negotiates deflate and inflates what the server compressed", async t => {
  const { url } = await echoApp(t, { threshold: 0 })
  const client = new UndiciWebSocket(url)
  await new Promise((resolve, reject) => { client.onopen = resolve; client.onerror = reject })
  t.match(client.extensions, /permessage-deflate/)
  const big = 'undici '.repeat(10_000)
  const got = await new Promise<string>(resolve => {
    client.onmessage = (ev: { data: unknown }) => resolve(String(ev.data))
    client.send(big)
  })
  t.equal(got, big)
  client.close()
})

/** A raw client that negotiates deflate and sends hand-made compressed frames. */
async function rawDeflateClient (url: string): Promise<{ socket: Socket, received: () => Buffer, closed: Promise<void> }> {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  await new Promise(resolve => socket.once('connect', resolve))
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n')
  let buf = Buffer.alloc(0)
  socket.on('data', (c: Buffer) => { buf = Buffer.concat([buf, c]) })
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  for (let i = 0; i < 100 && buf.indexOf('\r\n\r\n') === -1; i++) await new Promise(resolve => setTimeout(resolve, 20))
  const end = buf.indexOf('\r\n\r\n')
  if (!/^HTTP\/1.1 101/.test(buf.toString('latin1', 0, end)) || !/permessage-deflate/i.test(buf.toString('latin1', 0, end))) {
    throw new Error(`no deflate upgrade: ${buf.toString('latin1', 0, end)}`)
  }
  return { socket, received: () => buf.subarray(end + 4), closed }
}

function deflateMessage (data: Buffer): Buffer {
  const out = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4) // RFC 7692 section 7.2.1: drop the 00 00 ff ff tail
}

t.test('a compression bomb closes 1009 without being inflated, and memory stays bounded', async t => {
  const { url } = await echoApp(t, true, 1 << 20)
  const bomb = deflateMessage(Buffer.alloc(200 << 20)) // 200 MiB of zeros in ~200 KB
  t.ok(bomb.length < 300_000, `bomb is ${bomb.length} bytes on the wire`)
  const before = process.memoryUsage()
  const { socket, received, closed } = await rawDeflateClient(url)
  socket.write(frame({ opcode: 2, rsv: 4, payload: bomb, mask: true }))
  await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 10_000))])
  const frames = decodeFrames(received())
  t.equal(frames.at(-1)?.opcode, 8, 'a close frame came back')
  t.equal(frames.at(-1)?.payload.readUInt16BE(0), 1009)
  const after = process.memoryUsage()
  const grown = (after.rss - before.rss) / (1 << 20)
  t.ok(grown < 64, `process grew ${grown.toFixed(1)} MiB inflating a 200 MiB bomb (limit 1 MiB)`)
  socket.destroy()
})

t.test('corrupt compressed data closes 1007', async t => {
  const { url } = await echoApp(t, true)
  const { socket, received, closed } = await rawDeflateClient(url)
  socket.write(frame({ opcode: 1, rsv: 4, payload: Buffer.from([0xff, 0xff, 0xff, 0x00, 0x13]), mask: true }))
  await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 5000))])
  const last = decodeFrames(received()).at(-1)
  t.equal(last?.opcode, 8)
  t.equal(last?.payload.readUInt16BE(0), 1007)
  socket.destroy()
})

t.test('a fragmented compressed message, with a ping between its fragments, inflates whole', async t => {
  const { url } = await echoApp(t, { threshold: 1 << 20 }) // echo uncompressed, to read it back simply
  const { socket, received } = await rawDeflateClient(url)
  const body = deflateMessage(Buffer.from('fragmented and compressed '.repeat(100)))
  const third = Math.floor(body.length / 3)
  socket.write(Buffer.concat([
    frame({ opcode: 1, rsv: 4, fin: false, payload: body.subarray(0, third), mask: true }),
    frame({ opcode: 9, payload: 'between', mask: true }),
    frame({ opcode: 0, fin: false, payload: body.subarray(third, 2 * third), mask: true }),
    frame({ opcode: 0, payload: body.subarray(2 * third), mask: true })
  ]))
  for (let i = 0; i < 100 && decodeFrames(received()).length < 2; i++) await new Promise(resolve => setTimeout(resolve, 20))
  const frames = decodeFrames(received())
  t.same(frames.map(f => f.opcode), [10, 1], 'pong first, then the echo')
  t.equal(frames[1].payload.toString(), 'fragmented and compressed '.repeat(100))
  socket.destroy()
})

t.test('message order is kept per socket under a zlib concurrency limit of 1', async t => {
  const { url } = await echoApp(t, { threshold: 0, concurrencyLimit: 1 })
  const clients = await Promise.all(Array.from({ length: 8 }, () => open(url, { perMessageDeflate: true })))
  const results = await Promise.all(clients.map(({ client }, c) => {
    const messages = Array.from({ length: 40 }, (_, i) => `client ${c} message ${i} `.repeat(1 + (i % 7) * 30))
    return exchange(client, messages).then(got => [got, messages])
  }))
  for (const [got, sent] of results) t.same(got, sent)
  for (const { client } of clients) client.close()
})
