// The connection's send queue: once a message is being compressed, every later send, raw frame,
// shared broadcast frame and close frame waits behind it and goes out in order (DESIGN.md
// section 5: nothing a user sent is lost on a clean close). Byte-level, through the engine only.
import t from 'tap'
import { inflateRawSync, deflateRawSync, constants } from 'node:zlib'
import { makeConnection, type RecordingHost } from '../helpers/engine-host'
import { frame, closePayload, type DecodedFrame } from '../helpers/frames'
import { PerMessageDeflate } from '../../lib/engine/deflate'
import { buildFrame } from '../../lib/engine/serializer'
import type { Connection } from '../../lib/engine/connection'
import type { NegotiatedDeflate } from '../../lib/engine/deflate-options'

const PARAMS: NegotiatedDeflate = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }
const TEXT = Buffer.from('compress me '.repeat(200))

function compressing (): { conn: Connection, host: RecordingHost, codec: PerMessageDeflate } {
  const codec = new PerMessageDeflate(PARAMS, 'server', { threshold: 0 })
  const { conn, host } = makeConnection({ role: 'server', maxPayload: 1 << 20, deflate: codec })
  return { conn, host, codec }
}

/** Let zlib (thread pool) and the callbacks after it run, until `done()` holds. */
async function until (done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) await new Promise(resolve => setImmediate(resolve))
  if (!done()) throw new Error(`never happened: ${what}`)
}

function inflated (f: DecodedFrame): string {
  // RFC 7692 section 7.2.2: the sender removed the 00 00 ff ff of a sync flush; put it back
  return inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()
}

t.test('a message that cannot be compressed fails the connection with WS_ERR_DEFLATE (1011), and its callback gets the error', async t => {
  const { conn, host, codec } = compressing()
  codec.compress = (_data, _fin, cb) => { process.nextTick(cb, new Error('zlib broke'), undefined) }
  const sent: Array<Error | undefined> = []
  conn.send(TEXT, false, true, err => sent.push(err))
  await until(() => host.rec.errors.length > 0, 'the failure')
  t.equal(host.rec.errors[0].code, 'WS_ERR_DEFLATE')
  t.equal(host.rec.errors[0].closeCode, 1011)
  t.match(host.rec.errors[0].message, /zlib broke/)
  t.equal(sent.length, 1)
  t.match(sent[0]?.message, /zlib broke/)
  const out = host.outputFrames()
  t.same(out.map(f => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1011]], 'only a close frame with 1011 is written')
  t.same(host.rec.ends, [false])
})

t.test('a raw frame and shared broadcast frames sent while a message compresses go out after it, in order', async t => {
  const { conn, host } = compressing()
  conn.send(TEXT, false, true, null)
  conn.sendRaw(buildFrame(2, true, false, Buffer.from('raw')))
  const ready = { frame: buildFrame(2, true, false, Buffer.from('shared, built')), bytes: 15 }
  const later = { frame: null as Buffer | null, bytes: 20 }
  conn.sendShared(ready)
  conn.sendShared(later)
  conn.send(Buffer.from('after'), true, false, null)
  t.same(host.outputFrames(), [], 'nothing is written while the first message compresses')
  await until(() => host.conn.writer.pending > 0, 'the compressed message')
  const first = host.outputFrames()
  t.same(first.map(f => f.opcode), [1, 2, 2], 'the compressed message, the raw frame and the ready shared frame')
  t.equal(first[0].rsv, 4, 'RSV1: compressed')
  t.equal(inflated(first[0]), TEXT.toString())
  t.same(first.slice(1).map(f => f.payload.toString()), ['raw', 'shared, built'])
  conn.sharedReady()
  t.same(host.outputFrames(), [], 'a shared frame still compressing holds its place, and what follows it waits')
  later.frame = buildFrame(2, true, false, Buffer.from('shared, compressed'))
  conn.sharedReady()
  t.same(host.outputFrames().map(f => f.payload.toString()), ['shared, compressed', 'after'])
})

t.test('a raw frame sent while nothing compresses is written at once', async t => {
  const { conn, host } = compressing()
  conn.sendRaw(buildFrame(2, true, false, Buffer.from('now')))
  t.same(host.outputFrames().map(f => f.payload.toString()), ['now'])
  conn.close(1000)
  t.throws(() => conn.sendRaw(buildFrame(2, true, false, Buffer.from('late'))), { code: 'WS_ERR_NOT_OPEN' })
  t.throws(() => conn.sendShared({ frame: null, bytes: 1 }), { code: 'WS_ERR_NOT_OPEN' })
})

t.test('a close asked for while a message compresses is written after it, and the peer\'s close then ends the transport', async t => {
  const { conn, host } = compressing()
  conn.send(TEXT, false, true, null)
  conn.close(1000, 'bye')
  t.same(host.outputFrames(), [], 'the close frame waits for the compressed message')
  conn.receive(frame({ opcode: 8, payload: closePayload(1000), mask: true }))
  t.same(host.rec.ends, [], 'the transport is not ended before our close frame is written')
  await until(() => host.rec.ends.length > 0, 'the end of the transport')
  const out = host.outputFrames()
  t.same(out.map(f => f.opcode), [1, 8])
  t.equal(inflated(out[0]), TEXT.toString())
  t.equal(out[1].payload.readUInt16BE(0), 1000)
  t.equal(out[1].payload.subarray(2).toString(), 'bye')
  t.same(host.rec.ends, [false])
})

t.test('a protocol error while our close waits behind a compression still sends that close frame', async t => {
  const { conn, host } = compressing()
  conn.send(TEXT, false, true, null)
  conn.close(4000)
  conn.receive(frame({ opcode: 5, mask: true }))
  t.equal(host.rec.errors[0]?.code, 'WS_ERR_INVALID_OPCODE')
  const out = host.outputFrames()
  t.same(out.map(f => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 4000]], 'the close frame already promised, not a second one')
  t.same(host.rec.ends, [false])
})

t.test('the callbacks of every send in one turn are collected in order', async t => {
  const { conn } = makeConnection({ role: 'server' })
  const order: number[] = []
  conn.send(Buffer.from('a'), true, false, () => order.push(1))
  conn.send(Buffer.from('b'), true, false, () => order.push(2))
  for (const cb of conn.takeSentCallbacks() ?? []) cb()
  t.same(order, [1, 2])
  t.equal(conn.takeSentCallbacks(), null)
})

t.test('pong() writes an unsolicited pong, within 125 bytes, only while open', async t => {
  const { conn, host } = makeConnection({ role: 'server' })
  conn.pong(Buffer.from('beat'))
  conn.pong()
  t.same(host.outputFrames().map(f => [f.opcode, f.payload.toString()]), [[10, 'beat'], [10, '']])
  t.throws(() => conn.pong(Buffer.alloc(126)), { code: 'WS_ERR_CONTROL_ARG_TOO_LONG' })
  conn.close(1000)
  t.throws(() => conn.pong(), { code: 'WS_ERR_NOT_OPEN' })
})

t.test('a compressed text message that inflates to invalid UTF-8, or does not inflate, fails the connection', async t => {
  const cases: Array<[string, Buffer, string, number]> = [
    ['invalid UTF-8', deflateRawSync(Buffer.from([0x61, 0xff, 0x62]), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4), 'WS_ERR_INVALID_UTF8', 1007],
    ['ending inside a sequence', deflateRawSync(Buffer.from([0x61, 0xe2, 0x82]), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4), 'WS_ERR_INVALID_UTF8', 1007],
    ['not deflate data', Buffer.from([0xff, 0xff, 0xff, 0xff]), 'WS_ERR_INFLATE', 1007]
  ]
  for (const [name, payload, code, closeCode] of cases) {
    const { conn, host } = compressing()
    conn.receive(frame({ opcode: 1, rsv: 4, payload, mask: true }))
    await until(() => host.rec.errors.length > 0, name)
    t.equal(host.rec.errors[0].code, code, `${name}: ${code}`)
    t.same(host.outputFrames().map(f => [f.opcode, f.payload.readUInt16BE(0)]), [[8, closeCode]], `${name}: closed with ${closeCode}`)
    t.equal(host.rec.messages.length, 0, `${name}: nothing delivered`)
  }
})

t.test('while our output is backlogged, pings past maxPendingAutoPongs fail the connection (1008), or are left unanswered with dropExcessPongs', async t => {
  for (const drop of [false, true]) {
    const { conn, host } = makeConnection({ role: 'server', maxPendingAutoPongs: 2, dropExcessPongs: drop })
    conn.outputBacklogged = true
    for (let i = 0; i < 3; i++) conn.receive(frame({ opcode: 9, payload: `p${i}`, mask: true }))
    const out = host.outputFrames()
    if (drop) {
      t.same(host.rec.errors, [], 'dropExcessPongs: no error')
      t.same(out.map(f => f.payload.toString()), ['p0', 'p1'], 'dropExcessPongs: two pongs, the third ping unanswered')
      t.equal(host.rec.pings.length, 3, 'dropExcessPongs: every ping still reported')
      conn.outputDrained()
      conn.outputBacklogged = true
      conn.receive(frame({ opcode: 9, payload: 'p3', mask: true }))
      t.same(host.outputFrames().map(f => f.payload.toString()), ['p3'], 'once the output drained, pings are answered again')
    } else {
      t.equal(host.rec.errors[0]?.code, 'WS_ERR_TOO_MANY_PINGS')
      t.same(out.map(f => f.opcode), [10, 10, 8], 'two pongs, then the close frame')
      t.equal(out[2].payload.readUInt16BE(0), 1008)
    }
  }
})
