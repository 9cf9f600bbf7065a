import t from 'tap'
import { makeConnection } from '../helpers/engine-host'
import { frame, closePayload } from '../helpers/frames'
import { errorSpec } from '../../lib/errors'

const server = () => makeConnection({ role: 'server', maxPayload: 1 << 20 })

t.test('a text message is delivered with isBinary false and a binary one with isBinary true', async t => {
  const { conn, host } = server()
  conn.receive(frame({ opcode: 1, payload: 'héllo', mask: true }))
  conn.receive(frame({ opcode: 2, payload: Buffer.from([0, 255]), mask: true }))
  t.same(host.rec.messages.map(m => [m.data.toString('hex'), m.isBinary]),
    [[Buffer.from('héllo').toString('hex'), false], ['00ff', true]])
})

t.test('each invalid input fails the connection with its close frame and error code', async t => {
  const cases: Array<[string, Buffer[], number, string]> = [
    ['reserved opcode', [frame({ opcode: 5, mask: true })], 1002, 'WS_ERR_INVALID_OPCODE'],
    ['unmasked client frame', [frame({ opcode: 1, payload: 'a' })], 1002, 'WS_ERR_EXPECTED_MASK'],
    ['close with a 1-byte body', [frame({ opcode: 8, payload: Buffer.from([3]), mask: true })], 1002, 'WS_ERR_INVALID_CLOSE_PAYLOAD'],
    ['invalid UTF-8 text', [frame({ opcode: 1, payload: Buffer.from([0xc0, 0xaf]), mask: true })], 1007, 'WS_ERR_INVALID_UTF8'],
    ['text ending inside a sequence', [frame({ opcode: 1, payload: Buffer.from([0x61, 0xe2, 0x82]), mask: true })], 1007, 'WS_ERR_INVALID_UTF8'],
    ['invalid UTF-8 close reason', [frame({ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]), mask: true })], 1007, 'WS_ERR_INVALID_UTF8'],
    ['message over maxPayload', [frame({ opcode: 2, payload: Buffer.alloc((1 << 20) + 1), mask: true })], 1009, 'WS_ERR_MESSAGE_TOO_BIG']
  ]
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    cases.push([`close code ${code}`, [frame({ opcode: 8, payload: closePayload(code), mask: true })], 1002, 'WS_ERR_INVALID_CLOSE_CODE'])
  }
  for (const [name, chunks, closeCode, errCode] of cases) {
    const { conn, host } = server()
    for (const c of chunks) conn.receive(c)
    t.equal(host.rec.errors[0]?.code, errCode, `${name}: error code`)
    t.equal(errorSpec(host.rec.errors[0].code).closeCode, closeCode, `${name}: mapped close code`)
    const out = host.outputFrames()
    t.equal(out.length, 1, `${name}: exactly one frame written`)
    t.equal(out[0].opcode, 8, `${name}: it is a close frame`)
    t.equal(out[0].payload.readUInt16BE(0), closeCode, `${name}: close code on the wire`)
    t.same(host.rec.ends, [false], `${name}: transport ended after the close frame is flushed`)
    t.equal(host.rec.messages.length, 0, `${name}: nothing delivered`)
  }
})

t.test('every close code allowed on the wire is accepted and echoed', async t => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
    const { conn, host } = server()
    conn.receive(frame({ opcode: 8, payload: closePayload(code, 'bye'), mask: true }))
    t.equal(host.rec.errors.length, 0, `${code} accepted`)
    t.equal(conn.closeCode, code)
    t.equal(conn.closeReason, 'bye')
    const out = host.outputFrames()
    t.equal(out[0].payload.readUInt16BE(0), code, `${code} echoed`)
  }
})

t.test('invalid UTF-8 fails fast in the middle of a fragmented message, before its last fragment', async t => {
  const { conn, host } = server()
  conn.receive(frame({ opcode: 1, fin: false, payload: 'valid start ', mask: true }))
  t.equal(host.rec.errors.length, 0)
  // 0xed 0xa0 is the start of a UTF-16 surrogate: invalid at the second byte already
  conn.receive(frame({ opcode: 0, fin: false, payload: Buffer.from([0x61, 0xed, 0xa0]), mask: true }))
  t.equal(host.rec.errors[0]?.code, 'WS_ERR_INVALID_UTF8')
  t.equal(host.outputFrames()[0].payload.readUInt16BE(0), 1007)
})

t.test('invalid UTF-8 fails in the middle of a frame split across chunks', async t => {
  const { conn, host } = server()
  const bytes = frame({ opcode: 1, payload: Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0xff]), Buffer.alloc(5000, 0x61)]), mask: true })
  conn.receive(bytes.subarray(0, 200))
  t.equal(host.rec.errors[0]?.code, 'WS_ERR_INVALID_UTF8', 'detected before the frame is complete')
})

t.test('a peer-initiated close is answered with the same code and the transport ended', async t => {
  const { conn, host } = server()
  conn.receive(frame({ opcode: 8, payload: closePayload(4001, 'done'), mask: true }))
  t.equal(conn.readyState, 2)
  t.ok(conn.closeFrameReceived)
  t.ok(conn.closeFrameSent)
  const out = host.outputFrames()
  t.same(out.map(f => f.opcode), [8])
  t.equal(out[0].payload.readUInt16BE(0), 4001)
  t.same(host.rec.ends, [false])
  conn.receive(frame({ opcode: 1, payload: 'after close', mask: true }))
  t.equal(host.rec.messages.length, 0, 'data after a close frame is ignored')
  t.throws(() => conn.send(Buffer.from('x'), false), { code: 'WS_ERR_NOT_OPEN' })
})

t.test('an empty close frame is answered with an empty close frame and reported as 1005', async t => {
  const { conn, host } = server()
  conn.receive(frame({ opcode: 8, mask: true }))
  t.equal(conn.closeCode, 1005)
  t.equal(host.outputFrames()[0].payload.length, 0)
})

t.test('our close waits for the peer, which completes the handshake without a second close frame', async t => {
  const { conn, host } = server()
  conn.close(1000, 'bye')
  t.equal(conn.readyState, 2)
  t.same(host.rec.ends, [], 'transport stays open until the peer answers')
  t.throws(() => conn.send(Buffer.from('x'), false), { code: 'WS_ERR_NOT_OPEN' }, 'no data after close')
  conn.receive(frame({ opcode: 8, payload: closePayload(1000), mask: true }))
  t.same(host.outputFrames().map(f => f.opcode), [8], 'only our own close frame went out')
  t.same(host.rec.ends, [false])
})

t.test('close() rejects codes and reasons that may not be sent, before anything changes', async t => {
  const { conn } = server()
  for (const code of [999, 1005, 1006, 1015, 2000, 5000]) t.throws(() => conn.close(code), { code: 'WS_ERR_INVALID_CLOSE_ARG' })
  t.throws(() => conn.close(1000, 'x'.repeat(124)), { code: 'WS_ERR_INVALID_CLOSE_ARG' })
  t.throws(() => conn.close(undefined, 'reason'), { code: 'WS_ERR_INVALID_CLOSE_ARG' })
  t.equal(conn.readyState, 1)
  conn.close(1000, 'é'.repeat(61))
  t.equal(conn.readyState, 2, 'a reason of 122 bytes is fine')
})

t.test('a peer that never answers our close is torn down at the close timeout', async t => {
  let now = 1000
  const { conn, host } = makeConnection({ role: 'server', closeTimeout: 500, now: () => now })
  conn.close(1000)
  conn.tick(now += 499)
  t.same(host.rec.ends, [])
  conn.tick(now += 1)
  t.same(host.rec.ends, [true])
  t.equal(host.rec.errors[0].code, 'WS_ERR_CLOSE_TIMEOUT')
  conn.transportClosed()
  t.equal(conn.readyState, 3)
  t.equal(conn.closeCode, 1006, 'reported as abnormal: no close frame came')
})

t.test('pings are answered with pongs carrying the same payload, unless turned off', async t => {
  const { conn, host } = server()
  conn.receive(frame({ opcode: 9, payload: 'abc', mask: true }))
  const out = host.outputFrames()
  t.same(out.map(f => [f.opcode, f.payload.toString()]), [[10, 'abc']])
  t.equal(host.rec.pings[0].toString(), 'abc')
  const quiet = makeConnection({ role: 'server', autoPong: false })
  quiet.conn.receive(frame({ opcode: 9, payload: 'abc', mask: true }))
  t.equal(quiet.host.output().length, 0)
  t.equal(quiet.host.rec.pings.length, 1)
})

t.test('ping() resolves with the round-trip time when the matching pong arrives; unsolicited pongs are ignored', async t => {
  let now = 0
  const { conn, host } = makeConnection({ role: 'server', now: () => now })
  const results: Array<[string | null, number | undefined]> = []
  conn.ping(undefined, (err, rtt) => results.push([err?.code ?? null, rtt]))
  conn.ping(Buffer.from('mine'), (err, rtt) => results.push([err?.code ?? null, rtt]))
  const sent = host.outputFrames()
  t.same(sent.map(f => f.opcode), [9, 9])
  now = 30
  conn.receive(frame({ opcode: 10, payload: 'unsolicited', mask: true }))
  t.same(results, [])
  // the peer answers only the latest ping: both settle
  conn.receive(frame({ opcode: 10, payload: 'mine', mask: true }))
  t.same(results, [[null, 30], [null, 30]])
  t.equal(conn.latency, 30)
  t.equal(host.rec.pongs.length, 2, 'every pong is still reported')
})

t.test('pending pings are bounded and settled with an error when the transport closes', async t => {
  const { conn } = makeConnection({ role: 'server', maxPendingPings: 2 })
  const errors: string[] = []
  conn.ping(undefined, err => errors.push(err?.code ?? 'ok'))
  conn.ping(undefined, err => errors.push(err?.code ?? 'ok'))
  t.throws(() => conn.ping(), { code: 'WS_ERR_PING_LIMIT' })
  t.throws(() => conn.ping(Buffer.alloc(126)), { code: 'WS_ERR_CONTROL_ARG_TOO_LONG' })
  conn.transportClosed()
  t.same(errors, ['WS_ERR_CONNECTION_CLOSED', 'WS_ERR_CONNECTION_CLOSED'])
})

t.test('the heartbeat pings every interval and tears down a peer that stops answering', async t => {
  let now = 0
  const { conn, host } = makeConnection({ role: 'server', heartbeatInterval: 100, pongTimeout: 50, now: () => now })
  conn.tick(now = 99)
  t.equal(host.output().length, 0, 'nothing before the interval')
  conn.tick(now = 100)
  const ping = host.outputFrames()
  t.same(ping.map(f => f.opcode), [9])
  now = 120
  conn.receive(frame({ opcode: 10, payload: ping[0].payload, mask: true }))
  t.equal(conn.latency, 20, 'round-trip time measured')
  conn.tick(now = 200)
  t.same(host.outputFrames().map(f => f.opcode), [9], 'next ping')
  conn.tick(now = 249)
  t.same(host.rec.ends, [])
  conn.tick(now = 250)
  t.same(host.rec.ends, [true], 'no pong within the timeout: terminated')
  t.equal(host.rec.errors[0].code, 'WS_ERR_PING_TIMEOUT')
})

t.test('large sends are split into frames of fragmentSize when asked', async t => {
  const { conn, host } = makeConnection({ role: 'server', fragmentSize: 1000 })
  conn.send(Buffer.alloc(2500, 1), true)
  const out = host.outputFrames()
  t.same(out.map(f => [f.opcode, f.fin, f.payload.length]), [[2, false, 1000], [0, false, 1000], [0, true, 500]])
})

t.test('a client connection masks what it sends and expects unmasked frames', async t => {
  const { conn, host } = makeConnection({ role: 'client' })
  conn.send(Buffer.from('hi'), false)
  const out = host.outputFrames()
  t.ok(out[0].masked)
  t.equal(out[0].payload.toString(), 'hi')
  conn.receive(frame({ opcode: 1, payload: 'yo' }))
  t.equal(host.rec.messages[0].data.toString(), 'yo')
})

t.test('a whole message arriving in one chunk is delivered without a copy', async t => {
  const { conn, host } = server()
  let seen: Buffer | null = null
  host.onMessage = (data: Buffer) => { seen = data }
  const bytes = frame({ opcode: 2, payload: Buffer.alloc(3000, 5), mask: true })
  conn.receive(bytes)
  t.ok(seen !== null)
  t.equal((seen as unknown as Buffer).buffer, bytes.buffer, 'the message is a view into the received chunk')
})

t.test('a 4 MiB message in 65,536 fragments of 64 bytes passes, held within maxPayload plus a constant', async t => {
  const maxPayload = 4 * 1024 * 1024
  const { conn, host } = makeConnection({ role: 'server', maxPayload })
  const fragments: Buffer[] = []
  for (let i = 0; i < 65536; i++) {
    fragments.push(frame({ opcode: i === 0 ? 2 : 0, fin: i === 65535, payload: Buffer.alloc(64, i & 0xff), mask: Buffer.from([1, 2, 3, 4]) }))
  }
  const wire = Buffer.concat(fragments)
  fragments.length = 0
  let received: Buffer | null = null
  host.onMessage = (data: Buffer) => { received = data }
  const assembler = (conn as unknown as { receiver: { assembler: { buf: Buffer | null } } }).receiver.assembler
  let maxCapacity = 0
  for (let at = 0; at < wire.length; at += 65536) {
    conn.receive(wire.subarray(at, at + 65536))
    maxCapacity = Math.max(maxCapacity, assembler.buf?.length ?? 0)
  }
  t.ok(received !== null, 'delivered')
  const msg = received as unknown as Buffer
  t.equal(msg.length, maxPayload)
  t.equal(msg[64 * 300], 300 & 0xff, 'fragments in order')
  t.ok(maxCapacity <= maxPayload, `assembly buffer ${maxCapacity} <= maxPayload`)
})

t.test('with transient input, every message, fragment, control payload and held byte survives the reuse of the chunk', async t => {
  // the socket layer reads into one buffer shared by all connections and overwrites it after each push
  const kept: Array<{ kind: string, data: Buffer }> = []
  const { conn } = makeConnection({ role: 'server', maxPayload: 1 << 20 })
  const host = conn as unknown as { host: { onMessage: unknown, onPing: unknown } }
  host.host.onMessage = (data: Buffer) => { kept.push({ kind: 'message', data }) } // keeps references, no copies
  host.host.onPing = (data: Buffer) => { kept.push({ kind: 'ping', data }) }
  conn.parser.transient = true
  const shared = Buffer.alloc(64 * 1024)
  const push = (bytes: Buffer): void => {
    bytes.copy(shared)
    conn.receive(shared.subarray(0, bytes.length))
    shared.fill(0xee) // what the next read would do to it
  }
  const big = Buffer.alloc(5000, 'b')
  push(frame({ opcode: 1, payload: 'one', mask: true }))
  push(frame({ opcode: 2, payload: big, mask: true }))
  push(frame({ opcode: 9, payload: 'ping!', mask: true }))
  push(frame({ opcode: 1, fin: false, payload: 'frag', mask: true }))
  push(frame({ opcode: 0, payload: 'mented', mask: true }))
  // bytes that arrive while the parser is paused wait in its backlog
  conn.parser.pause()
  push(frame({ opcode: 1, payload: 'held back', mask: true }))
  conn.parser.resume()
  t.same(kept.map(k => `${k.kind}:${k.data.length > 100 ? `${k.data.length}x${String.fromCharCode(k.data[0])}` : k.data.toString()}`),
    ['message:one', 'message:5000xb', 'ping:ping!', 'message:fragmented', 'message:held back'])
  t.ok(kept[1].data.equals(big), 'a large message is intact')
})
