// Tiny compressed fragments (issue 10, part 2): with permessage-deflate on, one compressed frame
// and then a flood of empty or 1-byte continuation frames. Before the fix, 12 MB of them took a
// server from 61 to 834 MB of RSS (a zlib job and a copy per frame). The server runs in its own
// process (fixtures/target-server.js), the attacker here, over TCP on 127.0.0.1. Asserted: the
// server survives, closes 1008 (WS_ERR_TOO_MANY_FRAGMENTS) past maxFragments (65536 by default),
// its RSS (VmHWM from /proc) stays within +100 MB of idle, and a legitimate client is echoed
// during and after. With the limit off (maxFragments: 0) the message is inflated whole in O(bytes)
// of memory. Quick: 12 MB on the wire per connection; WS_HEAVY=1: 120 MB.
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib'
import { frame } from '../helpers/frames'
import { completeFrameLength } from '../helpers/raw-client'
import { decodeFrames } from '../helpers/frames'
import { HEAVY, MiB, RSS_BOUND, attackSocket, closeCodeIn, legitEcho, mb, startTarget, watchRss, type Target } from '../helpers/attack'
import { resolveOptions } from '../../lib/plugin/options'
import { resolveClientOptions } from '../../lib/client/options'

const WIRE = (HEAVY ? 120 : 12) * MiB
const DEFLATE = { 'Sec-WebSocket-Extensions': 'permessage-deflate' }
const ZERO_KEY = Buffer.alloc(4) // masking with a zero key: the payload bytes are what is sent
/** an empty masked continuation frame, FIN clear: 6 bytes */
const EMPTY_CONTINUATION = frame({ opcode: 0, fin: false, mask: ZERO_KEY })

/** RFC 7692 section 7.2.1: a message compressed with a sync flush, its 00 00 ff ff tail removed. */
function compress (data: Buffer): Buffer {
  const out = deflateRawSync(data, { finishFlush: zlib.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}

function inflate (payload: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.Z_SYNC_FLUSH })
}

/** `frames` empty continuation frames in one buffer (written in pieces of at most 1 MiB). */
function * emptyContinuations (frames: number): Generator<Buffer> {
  const perPiece = Math.floor(MiB / EMPTY_CONTINUATION.length)
  const piece = Buffer.concat(Array.from({ length: perPiece }, () => EMPTY_CONTINUATION))
  for (let left = frames; left > 0; left -= perPiece) yield left >= perPiece ? piece : piece.subarray(0, left * EMPTY_CONTINUATION.length)
}

/** The compressed bytes in 1-byte continuation frames, each followed by `empties` empty ones. */
function * oneByteContinuations (compressed: Buffer, empties: number): Generator<Buffer> {
  const unit = 7 + empties * EMPTY_CONTINUATION.length
  const perPiece = Math.floor(MiB / unit)
  for (let at = 0; at < compressed.length; at += perPiece) {
    const n = Math.min(perPiece, compressed.length - at)
    const piece = Buffer.alloc(n * unit)
    for (let i = 0; i < n; i++) {
      const o = i * unit
      piece[o] = 0x00 // continuation, FIN clear
      piece[o + 1] = 0x81 // masked, 1 byte
      piece[o + 6] = compressed[at + i] // the zero key leaves it as it is
      for (let e = 0; e < empties; e++) EMPTY_CONTINUATION.copy(piece, o + 7 + e * EMPTY_CONTINUATION.length)
    }
    yield piece
  }
}

/** The echo the server sends back (one compressed frame), inflated. */
async function echoOf (received: () => Buffer, closed: () => boolean): Promise<Buffer> {
  for (;;) {
    const bytes = received()
    const n = completeFrameLength(bytes)
    if (n !== -1) {
      const [f] = decodeFrames(bytes.subarray(0, n))
      return (f.rsv & 4) !== 0 ? inflate(f.payload) : f.payload
    }
    if (closed()) throw new Error(`closed before the echo (close code ${String(closeCodeIn(bytes))})`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function report (t: Test, target: Target, rss: ReturnType<typeof watchRss>, label: string): Promise<void> {
  t.equal(await legitEcho(target.port, 'after the attack'), 'after the attack', 'a legitimate client is echoed after the attack')
  const { idle, peak, grown } = rss.stop()
  t.comment(`${label}: idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `${label}: the server's RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
  t.ok(target.peer.child.exitCode === null && target.peer.child.signalCode === null, 'the server process is alive')
}

t.test('maxFragments and maxPendingAutoPongs take non-negative integers (0: no limit), on the plugin and the client', async t => {
  for (const bad of [-1, 1.5, Number.NaN, '10']) {
    t.throws(() => resolveOptions({ maxFragments: bad as number }), { code: 'WS_ERR_INVALID_OPTION' }, `maxFragments ${String(bad)}`)
    t.throws(() => resolveClientOptions({ maxPendingAutoPongs: bad as number }), { code: 'WS_ERR_INVALID_OPTION' }, `maxPendingAutoPongs ${String(bad)}`)
  }
  t.match(resolveOptions({}), { maxFragments: 65536, maxPendingAutoPongs: 100 }, 'the defaults')
  t.match(resolveClientOptions({ maxFragments: 0, backpressurePolicy: 'drop' }).connection,
    { maxFragments: 0, maxPendingAutoPongs: 100, dropExcessPongs: true }, 'the client passes them to its connection')
})

t.test('a message in 65536 frames is delivered; 12 MB of empty compressed continuation frames close 1008 at frame 65537 (server RSS within +100 MB)', async t => {
  const target = await startTarget(t, { perMessageDeflate: true })
  const rss = watchRss(target.pid)
  // the default admits 65536 frames, empty ones included: first + 65534 empty + the last
  const ok = await attackSocket(t, target.port, { headers: DEFLATE, read: true })
  await ok.write(frame({ opcode: 2, fin: false, rsv: 4, payload: compress(Buffer.from('65536 frames')), mask: ZERO_KEY }))
  for (const piece of emptyContinuations(65534)) await ok.write(piece)
  await ok.write(frame({ opcode: 0, fin: true, mask: ZERO_KEY }))
  t.equal((await echoOf(ok.received, ok.isClosed)).toString(), '65536 frames', 'a message in exactly maxFragments frames is echoed')

  // four attackers at once, each offering 12 MB of empty frames after one compressed frame
  const attackers = await Promise.all([0, 1, 2, 3].map(() => attackSocket(t, target.port, { headers: DEFLATE, read: true })))
  const during = legitEcho(target.port, 'during the attack')
  const sent = await Promise.all(attackers.map(async a => {
    let bytes = 0
    await a.write(frame({ opcode: 2, fin: false, rsv: 4, payload: compress(randomBytes(64)), mask: ZERO_KEY }))
    for (const piece of emptyContinuations(Math.floor(WIRE / EMPTY_CONTINUATION.length))) {
      if (closeCodeIn(a.received()) !== null || !await a.write(piece)) break
      bytes += piece.length
    }
    await a.closed
    return bytes
  }))
  t.equal(await during, 'during the attack', 'a legitimate client is echoed during the attack')
  for (const [i, a] of attackers.entries()) {
    t.equal(closeCodeIn(a.received()), 1008, `attacker ${i}: close 1008 after ${mb(sent[i])} MB written`)
  }
  const stats = await target.stats()
  t.equal(stats.errors.WS_ERR_TOO_MANY_FRAGMENTS, 4, 'the server failed each attacker with WS_ERR_TOO_MANY_FRAGMENTS')
  await report(t, target, rss, '4 x 12 MB of empty compressed fragments')
})

t.test('1-byte compressed continuation frames also close 1008 past maxFragments', async t => {
  const target = await startTarget(t, { perMessageDeflate: true })
  const rss = watchRss(target.pid)
  const a = await attackSocket(t, target.port, { headers: DEFLATE, read: true })
  const compressed = compress(randomBytes(200_000))
  await a.write(frame({ opcode: 1, fin: false, rsv: 4, payload: compressed.subarray(0, 1), mask: ZERO_KEY }))
  for (const piece of oneByteContinuations(compressed.subarray(1), 0)) {
    if (closeCodeIn(a.received()) !== null || !await a.write(piece)) break
  }
  await a.closed
  t.equal(closeCodeIn(a.received()), 1008, 'close 1008')
  t.equal((await target.stats()).errors.WS_ERR_TOO_MANY_FRAGMENTS, 1, 'WS_ERR_TOO_MANY_FRAGMENTS')
  await report(t, target, rss, '1-byte compressed fragments')
})

// Each piece of a compressed message is copied into one batch buffer (lib/engine/connection.ts,
// keepInflateInput): a Buffer per 1-byte piece cost ~100 bytes of heap and took RSS to +84 to
// +148 MB here (12 MB quick form); with the batch buffer it measured +19 MB.
t.test('with maxFragments: 0 (no limit), a message in millions of tiny compressed frames is inflated in O(bytes) of memory (server RSS within +100 MB)', async t => {
  const target = await startTarget(t, { perMessageDeflate: true, maxFragments: 0 })
  const rss = watchRss(target.pid)
  // each byte of the compressed message in a frame of its own, each followed by an empty frame:
  // 13 bytes on the wire per compressed byte
  const message = randomBytes(Math.floor(WIRE / 13))
  const compressed = compress(message)
  const a = await attackSocket(t, target.port, { headers: DEFLATE, read: true })
  await a.write(frame({ opcode: 2, fin: false, rsv: 4, payload: compressed.subarray(0, 1), mask: ZERO_KEY }))
  let frames = 1
  for (const piece of oneByteContinuations(compressed.subarray(1), 1)) {
    if (!await a.write(piece)) break
    frames += piece.length / 13 * 2
  }
  await a.write(frame({ opcode: 0, fin: true, mask: ZERO_KEY }))
  const echo = await echoOf(a.received, a.isClosed)
  t.ok(echo.equals(message), `the ${mb(message.length)} MB message in ${frames + 1} frames (${mb(frames * 6.5)} MB on the wire) is echoed intact`)
  await report(t, target, rss, `one message in ${frames + 1} tiny compressed frames, no fragment limit`)
})
