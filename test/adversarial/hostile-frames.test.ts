// Random and mutated frame streams (issue 10, "hostile frames, random and mutated frame
// streams"): many connections at once, each sending a seeded stream that is either random bytes,
// frames with random header fields (opcodes, RSV bits, masks, length encodings), or a valid
// stream of messages (fragmented, compressed, control frames) mutated by bit flips, overwrites,
// cuts, repeats and insertions, in random pieces. The server (fixtures/target-server.js, its own
// process, permessage-deflate on) must survive; each connection ends with a protocol close code
// (1002, 1007, 1008, 1009), an echo of a close frame the stream held, or TCP closing without a
// close frame; the server reports no error outside the protocol's; its RSS stays within +100 MB
// of idle; a legitimate client is echoed during and after.
//   FRAMES_SEED=N replays a run (the seed is printed); 200 connections, WS_HEAVY=1: 2,000.
import t from 'tap'
import { deflateRawSync, constants as zlib } from 'node:zlib'
import { frame } from '../helpers/frames'
import { HEAVY, RSS_BOUND, attackSocket, closeCodeIn, legitEcho, mb, startTarget, statsWhen, watchRss } from '../helpers/attack'

interface Rng {
  next (): number
  int (lo: number, hi: number): number
  bool (p?: number): boolean
  pick<T> (list: T[]): T
  logInt (max: number): number
}
// the soak's seeded PRNG (mulberry32), shared rather than copied
const { prng } = require('../differential/fixtures/common.js') as { prng: (seed: number) => Rng }

const seed = process.env.FRAMES_SEED !== undefined ? Number(process.env.FRAMES_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32)
const CONNECTIONS = HEAVY ? 2000 : 200
const AT_ONCE = 20
/** close codes a server fails a connection with (RFC 6455 section 7.4.1) */
const PROTOCOL_CODES = [1002, 1007, 1008, 1009]
/** what the server may report as a socket's error under this attack */
const PROTOCOL_ERRORS = /^WS_ERR_(INVALID_|UNEXPECTED_|EXPECTED_|CONTROL_TOO_LONG|FRAGMENTED_CONTROL|MESSAGE_TOO_BIG|TOO_MANY_|INFLATE|DATA_AFTER_CLOSE|CLOSE_TIMEOUT)/
const ALPHABET = ['a', 'z', ' ', 'é', '€', '😀', '\n']

t.comment(`seed: ${seed} (FRAMES_SEED=${seed} replays it)`)

function bytes (rng: Rng, n: number): Buffer {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = rng.int(0, 255)
  return out
}

function text (rng: Rng, n: number): string {
  const parts: string[] = []
  for (let size = 0; size < n;) {
    const c = rng.pick(ALPHABET)
    parts.push(c)
    size += Buffer.byteLength(c)
  }
  return parts.join('')
}

/** RFC 7692 section 7.2.1: compressed with a sync flush, the 00 00 ff ff tail removed. */
function compress (data: Buffer): Buffer {
  return deflateRawSync(data, { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4)
}

/** A valid stream of client frames: messages whole and fragmented, compressed or not, pings, pongs, maybe a close. */
function validStream (rng: Rng, deflate: boolean): Buffer {
  const out: Buffer[] = []
  for (let m = rng.int(1, 12); m > 0; m--) {
    const kind = rng.int(0, 4)
    if (kind === 3) { out.push(frame({ opcode: rng.pick([0x9, 0xa]), payload: bytes(rng, rng.int(0, 125)), mask: true })); continue }
    const binary = kind === 1
    let payload = binary ? bytes(rng, rng.logInt(70_000)) : Buffer.from(text(rng, rng.logInt(70_000)))
    const compressed = deflate && rng.bool()
    if (compressed) payload = compress(payload)
    const pieces = rng.bool(0.4) ? rng.int(2, 6) : 1
    const size = Math.ceil(payload.length / pieces) || 1
    for (let at = 0, i = 0; i === 0 || at < payload.length; at += size, i++) {
      const fin = at + size >= payload.length
      out.push(frame({ opcode: i === 0 ? (binary ? 0x2 : 0x1) : 0x0, fin, rsv: compressed && i === 0 ? 4 : 0, payload: payload.subarray(at, at + size), mask: true }))
      if (!fin && rng.bool(0.2)) out.push(frame({ opcode: 0x9, payload: 'mid', mask: true })) // control frames may interleave
    }
  }
  if (rng.bool(0.3)) out.push(frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]), mask: true }))
  return Buffer.concat(out)
}

/** Frames whose every header field is drawn at random. */
function randomFrames (rng: Rng): Buffer {
  const out: Buffer[] = []
  for (let n = rng.int(1, 20); n > 0; n--) {
    const len = rng.bool(0.8) ? rng.logInt(200) : rng.logInt(200_000)
    out.push(frame({
      opcode: rng.int(0, 15),
      fin: rng.bool(0.7),
      rsv: rng.bool(0.8) ? 0 : rng.int(1, 7),
      payload: bytes(rng, len),
      mask: rng.bool(0.95),
      lengthBits: rng.bool(0.8) ? undefined : rng.pick([16, 64] as const)
    }))
  }
  if (rng.bool(0.1)) {
    // a 64-bit length with its top bit set (RFC 6455 section 5.2: MUST be 0), or past maxPayload
    const head = Buffer.from([0x82, 0xff, rng.bool() ? 0x80 : 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4])
    out.push(head)
  }
  return Buffer.concat(out)
}

/** Bit flips, overwrites, cuts, repeats and insertions. */
function mutate (rng: Rng, input: Buffer): Buffer {
  let buf = Buffer.from(input)
  for (let k = rng.int(1, 5); k > 0 && buf.length > 0; k--) {
    const at = rng.int(0, buf.length - 1)
    const span = Math.min(buf.length - at, rng.logInt(64) + 1)
    switch (rng.int(0, 4)) {
      case 0: buf[at] ^= 1 << rng.int(0, 7); break
      case 1: buf[at] = rng.int(0, 255); break
      case 2: buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + span)]); break
      case 3: buf = Buffer.concat([buf.subarray(0, at + span), buf.subarray(at, at + span), buf.subarray(at + span)]); break
      default: buf = Buffer.concat([buf.subarray(0, at), bytes(rng, span), buf.subarray(at)])
    }
  }
  return buf
}

interface Outcome { kind: string, sent: number, code: number | null }

async function attack (port: number, rng: Rng): Promise<Outcome> {
  const deflate = rng.bool()
  const kind = rng.pick(['random bytes', 'random frames', 'mutated stream'])
  const stream = kind === 'random bytes'
    ? bytes(rng, rng.logInt(256 * 1024) + 1)
    : kind === 'random frames' ? randomFrames(rng) : mutate(rng, validStream(rng, deflate))
  const a = await attackSocket(t, port, { read: true, headers: deflate ? { 'Sec-WebSocket-Extensions': 'permessage-deflate' } : {} })
  let at = 0
  while (at < stream.length) {
    const piece = rng.bool(0.3) ? rng.int(1, 16) : rng.logInt(stream.length) + 1
    if (!await a.write(stream.subarray(at, at + piece))) break
    at += piece
  }
  a.socket.end() // our FIN: a stream that stopped mid-frame leaves the server nothing to wait for
  await a.closed
  return { kind, sent: Math.min(at, stream.length), code: closeCodeIn(a.received()) }
}

t.test(`${CONNECTIONS} connections, ${AT_ONCE} at a time, send random and mutated frame streams: the server survives and answers each with a protocol close code or closes TCP (RSS within +100 MB)`, async t => {
  const target = await startTarget(t, { perMessageDeflate: true })
  const rss = watchRss(target.pid)
  const rng = prng(seed)
  const outcomes: Outcome[] = []
  const during = legitEcho(target.port, 'during the streams')
  for (let i = 0; i < CONNECTIONS; i += AT_ONCE) {
    // each connection draws from a generator of its own, so that replays do not depend on timing
    const seeds = Array.from({ length: Math.min(AT_ONCE, CONNECTIONS - i) }, () => rng.int(0, 2 ** 31))
    outcomes.push(...await Promise.all(seeds.map(s => attack(target.port, prng(s)))))
  }
  t.equal(await during, 'during the streams', 'a legitimate client is echoed during the streams')
  const table: Record<string, number> = {}
  for (const o of outcomes) {
    const key = `${o.kind}: ${o.code === null ? 'no close frame' : `close ${o.code}`}`
    table[key] = (table[key] ?? 0) + 1
  }
  t.comment(`outcomes: ${JSON.stringify(table)}`)
  // a code outside the protocol's is only ever the echo of a close frame the stream itself held
  // (section 5.5.1): a valid wire code, never 1011 (our handler) or a code not allowed on the wire
  const odd = outcomes.filter(o => o.code !== null && !PROTOCOL_CODES.includes(o.code) &&
    !(o.code === 1000 || o.code === 1005 || (o.code >= 3000 && o.code <= 4999) || [1001, 1003, 1010, 1012, 1013, 1014].includes(o.code)))
  t.same(odd, [], 'every close code is a protocol one or the echo of a valid code')
  const stats = await statsWhen(target, s => s.sockets === 0)
  const unexpected = Object.keys(stats.errors).filter(code => !PROTOCOL_ERRORS.test(code))
  t.same(unexpected, [], `the server's errors are protocol errors only: ${JSON.stringify(stats.errors)}`)
  t.equal(stats.sockets, 0, 'no socket is left open')
  t.equal(await legitEcho(target.port, 'after the streams'), 'after the streams', 'a legitimate client is echoed after')
  const { idle, peak, grown } = rss.stop()
  t.comment(`server under ${CONNECTIONS} hostile streams: idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `the server's RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
})
