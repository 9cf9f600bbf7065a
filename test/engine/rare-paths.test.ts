// Engine paths the protocol suites seldom take: the fragment limit reached, a prebuilt frame
// joining a run of frames, a WebAssembly arena that cannot be instantiated, and a compressed
// message large enough that its input waits behind a running inflate. Byte-level, engine only.
import t from 'tap'
import { deflateRawSync, constants } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { makeConnection } from '../helpers/engine-host'
import { frame, decodeFrames } from '../helpers/frames'
import { FrameWriter, buildFrame } from '../../lib/engine/serializer'
import { FrameParser, type FrameHandler } from '../../lib/engine/parser'
import { createWasmArena, type WasmApi } from '../../lib/engine/mask-wasm'
import { applyMask, readArena } from '../../lib/engine/mask'
import { PerMessageDeflate } from '../../lib/engine/deflate'
import type { NegotiatedDeflate } from '../../lib/engine/deflate-options'

t.test('a message in more frames than maxFragments fails with WS_ERR_TOO_MANY_FRAGMENTS (1008) at the frame past the limit', async t => {
  const { conn, host } = makeConnection({ role: 'server', maxFragments: 3 })
  conn.receive(frame({ opcode: 1, payload: 'a', fin: false, mask: true }))
  conn.receive(frame({ opcode: 0, payload: 'b', fin: false, mask: true }))
  conn.receive(frame({ opcode: 0, payload: '', fin: false, mask: true }))
  t.same(host.rec.errors, [], 'three frames are within the limit')
  t.equal(conn.heldIncoming, 2, 'the two bytes so far are held')
  conn.receive(frame({ opcode: 0, payload: 'd', fin: true, mask: true }))
  t.equal(host.rec.errors[0]?.code, 'WS_ERR_TOO_MANY_FRAGMENTS')
  t.equal(host.rec.messages.length, 0)
  const out = host.outputFrames()
  t.same(out.map(f => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1008]])
})

t.test('a small prebuilt frame queued after other frames joins their run: one buffer for the lot', async t => {
  const w = new FrameWriter('server')
  w.frame(1, true, false, Buffer.from('first'))
  w.raw(buildFrame(2, true, false, Buffer.from('prebuilt')))
  const chunks = w.take()!
  t.equal(chunks.length, 1)
  t.same(decodeFrames(chunks[0]).map(f => f.payload.toString()), ['first', 'prebuilt'])
})

t.test('frames past the end of the shared slab go into a new one, and every frame stays intact', async t => {
  const w = new FrameWriter('server')
  const payloads = Array.from({ length: 40 }, (_, i) => Buffer.alloc(4096, i)) // 160 KiB copied: more than a 64 KiB slab
  for (const p of payloads) w.frame(2, true, false, p)
  const frames = decodeFrames(Buffer.concat(w.take()!))
  t.equal(frames.length, 40)
  t.ok(frames.every((f, i) => f.payload.equals(payloads[i])), 'each frame carries its own bytes')
})

t.test('a payload read into the WebAssembly arena is unmasked in place, blocks in WebAssembly and the tail in JavaScript', { skip: readArena === null ? 'no WebAssembly SIMD here' : false }, async t => {
  const arena = readArena!.bytes
  const key = Buffer.from([0x11, 0x22, 0x33, 0x44])
  const clear = randomBytes(200)
  const view = arena.subarray(8, 8 + clear.length)
  for (let i = 0; i < clear.length; i++) view[i] = clear[i] ^ key[(i + 1) & 3] // masked from phase 1
  t.equal(applyMask(view, 0, view.length, key, 1), (1 + clear.length) & 3)
  t.ok(Buffer.from(view).equals(clear))
})

t.test('a parser paused again while it replays its backlog keeps the rest, in order, for the next resume', async t => {
  const got: string[] = []
  let parser: FrameParser | null = null
  const handler: FrameHandler = {
    onDataPiece (piece, _frameDone, messageDone) {
      if (!messageDone) return
      got.push(piece.toString())
      parser!.pause() // as the connection does while a message is being delivered
    },
    onControlFrame () {},
    onParseError (err) { throw err }
  }
  parser = new FrameParser(handler, { role: 'server', maxPayload: 1 << 20 })
  parser.pause()
  for (const text of ['one', 'two', 'three']) parser.push(frame({ opcode: 1, payload: text, mask: true }))
  t.same(got, [], 'nothing is parsed while paused')
  parser.resume()
  t.same(got, ['one'])
  parser.resume()
  t.same(got, ['one', 'two'])
  parser.resume()
  t.same(got, ['one', 'two', 'three'])
  t.equal(parser.backlogLength, 0)
})

t.test('createWasmArena returns null without WebAssembly or when instantiating fails', async t => {
  t.equal(createWasmArena(null), null)
  const failing: WasmApi = {
    Module: class {},
    Instance: class { get exports (): object { return {} } constructor () { throw new Error('out of memory') } }
  }
  t.equal(createWasmArena(failing), null)
})

t.test('a compressed message far larger than one inflate batch arrives whole, its input waiting behind the running inflate', async t => {
  const params: NegotiatedDeflate = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }
  const deflate = new PerMessageDeflate(params, 'server')
  const { conn, host } = makeConnection({ role: 'server', maxPayload: 4 << 20, deflate })
  // random bytes do not compress: 1 MiB of input, several times what may wait behind a job
  const data = randomBytes(1 << 20)
  const compressed = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4)
  const pieces: Buffer[] = []
  const size = 16 * 1024
  for (let at = 0; at < compressed.length; at += size) {
    const first = at === 0
    const last = at + size >= compressed.length
    pieces.push(frame({ opcode: first ? 2 : 0, rsv: first ? 4 : 0, fin: last, payload: compressed.subarray(at, at + size), mask: true }))
  }
  conn.receive(Buffer.concat(pieces)) // all at once: more than the backlog bound waits in the parser
  t.ok(conn.parser.isPaused, 'the parser stopped taking pieces while the input waits')
  // zlib runs on the thread pool: on a loaded machine that can take many turns of the loop
  const deadline = Date.now() + 60_000
  while (host.rec.messages.length === 0 && host.rec.errors.length === 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  t.same(host.rec.errors, [])
  t.equal(host.rec.messages.length, 1)
  t.ok(host.rec.messages[0].data.equals(data), 'the message inflates to what was compressed')
  t.notOk(conn.parser.isPaused, 'reading resumes once the message is delivered')
})
