// Compressor and decompressor modes (issue 18) over a real socket, with a `ws` client in another
// process offering what browsers offer. Every mode must produce messages the peer inflates with
// its own (RFC 7692) idea of the window: a borrowed compressor given back while idle must not
// leave the peer's window and ours out of step, so messages are sent before and after the
// compressor goes back to the pool, and each comes back intact (ws closes 1007 on a bad
// back-reference).
import t, { type Test } from 'tap'
import { join } from 'node:path'
import Fastify from 'fastify'
import websocket from '../../lib/index'
import type { WebSocket } from '../../lib/index'
import type { DeflateOptions } from '../../lib/handshake/extensions'
import { borrowedCompressors } from '../../lib/engine/deflate'
import { forkPeer } from '../helpers/peer-process'

const CLIENT = join(__dirname, 'fixtures', 'ws-echo-client.js')

/** JSON messages sharing keys, so a compressor that keeps its window uses it. */
function messages (from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({
    type: 'update', seq: from + i, items: Array.from({ length: 20 }, (_, k) => ({ id: k * (from + i), name: `item ${k}`, price: k * 1.5, tags: ['a', 'b'] }))
  }))
}

async function until (what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

interface Harness { url: string, sockets: WebSocket[], echoes: Map<WebSocket, string[]> }

async function serve (t: Test, perMessageDeflate: DeflateOptions | true): Promise<Harness> {
  const app = Fastify()
  const h: Harness = { url: '', sockets: [], echoes: new Map() }
  await app.register(websocket, { perMessageDeflate })
  app.get('/', {
    websocket: {
      open (socket) { h.sockets.push(socket); h.echoes.set(socket, []) },
      message (socket, data) { h.echoes.get(socket)?.push(data.toString()) }
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  h.url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/`
  return h
}

/** A peer process connected to `h`, and the server's socket for it. */
async function connectPeer (t: Test, h: Harness, expectHeader: string): Promise<{ peer: ReturnType<typeof forkPeer>, socket: WebSocket }> {
  const before = h.sockets.length
  const peer = forkPeer(CLIENT, { url: h.url })
  t.teardown(() => peer.stop())
  const opened = await peer.next<{ open?: boolean, extensions?: string, error?: string }>(10_000)
  t.equal(opened.extensions, expectHeader, 'negotiated as the mode says')
  await until('the server socket', () => h.sockets.length > before)
  return { peer, socket: h.sockets[before] }
}

async function echo (t: Test, h: Harness, socket: WebSocket, batch: string[]): Promise<void> {
  const echoes = h.echoes.get(socket) as string[]
  const want = [...echoes, ...batch]
  for (const m of batch) socket.send(m)
  await until('the echoes', () => echoes.length === want.length)
  t.same(echoes, want, 'every message came back intact, in order')
}

async function closePeer (t: Test, peer: ReturnType<typeof forkPeer>): Promise<void> {
  peer.child.send('close')
  const closed = await peer.next<{ closed?: boolean, code?: number, error?: string }>(10_000)
  t.same(closed, { closed: true, code: 1000 }, 'the peer closed normally (no 1007 from a bad back-reference)')
}

async function run (t: Test, perMessageDeflate: DeflateOptions | true, expectHeader: string): Promise<void> {
  const h = await serve(t, perMessageDeflate)
  const { peer, socket } = await connectPeer(t, h, expectHeader)
  await echo(t, h, socket, messages(0, 5))
  await echo(t, h, socket, messages(100, 5))
  await closePeer(t, peer)
}

t.test('the default (shared both ways) asks a browser-like client to drop its context too', async t => {
  await run(t, true, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover')
  t.equal(borrowedCompressors(), 0, 'a shared compressor is never held by a socket')
})

t.test('a borrowed compressor keeps its context while busy and goes back to the pool, reset, when idle', async t => {
  const header = 'permessage-deflate; client_no_context_takeover'
  const h = await serve(t, { compressor: 'borrowed', threshold: 0 })
  const a = await connectPeer(t, h, header)
  await echo(t, h, a.socket, messages(0, 5))
  t.equal(borrowedCompressors(), 1, 'held after sending')
  await until('the compressor to go back', () => borrowedCompressors() === 0)
  // another socket borrows the stream A gave back, then gives it back in turn: each must get it
  // reset, or its messages would refer to bytes its peer never saw
  const b = await connectPeer(t, h, header)
  await echo(t, h, b.socket, messages(500, 5))
  await until('B\'s compressor to go back', () => borrowedCompressors() === 0)
  await echo(t, h, a.socket, messages(100, 5))
  await echo(t, h, b.socket, messages(600, 5))
  await closePeer(t, a.peer)
  await closePeer(t, b.peer)
})

t.test('dedicated compressors (sized and full) and a dedicated decompressor interoperate', async t => {
  await run(t, { compressor: 'dedicated-8kb', decompressor: 'dedicated', threshold: 0 }, 'permessage-deflate; server_max_window_bits=10')
  await run(t, { compressor: 'dedicated-256kb', decompressor: 'dedicated', threshold: 0 }, 'permessage-deflate')
  t.equal(borrowedCompressors(), 0)
})
