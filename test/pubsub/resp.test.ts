// RESP2 encoder and streaming parser, on bytes: exact encodings, every reply type, every split
// point of a stream, binary safety, and the limits that refuse a hostile server.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { encodeCommand, RespError, RespParser, RespSkipped, type RespLimits, type RespValue } from '../../lib/pubsub/resp'
import { WebSocketError } from '../../lib/errors'

function parseAll (chunks: Buffer[], limits?: RespLimits): RespValue[] {
  const out: RespValue[] = []
  const parser = new RespParser(value => out.push(value), limits)
  for (const chunk of chunks) parser.feed(chunk)
  return out
}

function protocolError (t: Test, fn: () => unknown, detail: RegExp, code = 'WS_ERR_REDIS_PROTOCOL'): void {
  let thrown: unknown = null
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  t.ok(thrown instanceof WebSocketError, `throws a WebSocketError (${detail})`)
  t.match(thrown, { code, message: detail })
}

function limitError (t: Test, fn: () => unknown, detail: RegExp): void {
  protocolError(t, fn, detail, 'WS_ERR_REDIS_REPLY_LIMIT')
}

// every reply type, binary bulk strings holding CRLF and every byte value, nested arrays
const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
const stream = Buffer.concat([
  Buffer.from('+OK\r\n-WRONGPASS invalid password é\r\n:42\r\n:-7\r\n$7\r\nhe\r\nllo\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n'),
  Buffer.from('*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$256\r\n'), allBytes, Buffer.from('\r\n'),
  Buffer.from('*2\r\n*2\r\n:1\r\n+x\r\n$1\r\nz\r\n+\r\n')
])
const expected: RespValue[] = [
  'OK', new RespError('WRONGPASS invalid password é'), 42, -7, Buffer.from('he\r\nllo'), Buffer.alloc(0), null, null, [],
  [Buffer.from('message'), Buffer.from('room'), allBytes],
  [[1, 'x'], Buffer.from('z')],
  ''
]

t.test('encodeCommand writes a RESP array of bulk strings, counting UTF-8 bytes', async t => {
  t.equal(encodeCommand(['PING']).toString('latin1'), '*1\r\n$4\r\nPING\r\n')
  t.same(encodeCommand(['SET', 'clé', Buffer.from([0, 13, 10, 255]), '']),
    Buffer.concat([Buffer.from('*4\r\n$3\r\nSET\r\n$4\r\ncl\xc3\xa9\r\n$4\r\n', 'latin1'), Buffer.from([0, 13, 10, 255]), Buffer.from('\r\n$0\r\n\r\n')]))
})

t.test('encodeCommand sends an array of Buffers as one argument, back to back', async t => {
  const out = encodeCommand(['PUBLISH', 'ch', [Buffer.from('head'), Buffer.from(''), Buffer.from('-data')]])
  t.equal(out.toString(), '*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$9\r\nhead-data\r\n')
})

t.test('the parser returns every reply type from one chunk, in order', async t => {
  t.same(parseAll([stream]), expected)
  t.ok(parseAll([stream])[1] instanceof RespError, 'an error reply is a RespError value, not a throw')
})

t.test('the parser gives the same replies whatever offset the stream is split at', async t => {
  for (let cut = 1; cut < stream.length; cut++) {
    const got = parseAll([stream.subarray(0, cut), stream.subarray(cut)])
    if (!t.same(got, expected, `split at ${cut}`)) break
  }
})

t.test('the parser gives the same replies one byte at a time, and in three pieces cut anywhere', async t => {
  const bytes: Buffer[] = []
  for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1))
  t.same(parseAll(bytes), expected)
  fc.assert(fc.property(fc.integer({ min: 0, max: stream.length }), fc.integer({ min: 0, max: stream.length }), (a, b) => {
    const [x, y] = a < b ? [a, b] : [b, a]
    t.same(parseAll([stream.subarray(0, x), stream.subarray(x, y), stream.subarray(y)]), expected)
  }), { numRuns: 200 })
})

t.test('a command the encoder writes parses back to its arguments, whatever they hold and however it is cut', async t => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 7 }), (args, pieces) => {
    const buffers = args.map(a => Buffer.from(a))
    const bytes = encodeCommand(buffers)
    const chunks: Buffer[] = []
    const size = Math.ceil(bytes.length / pieces)
    for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
    t.same(parseAll(chunks), [buffers])
  }), { numRuns: 300 })
})

t.test('a large bulk string arriving in small chunks is one reply, equal byte for byte', async t => {
  const payload = Buffer.alloc(300_000)
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff
  const bytes = Buffer.concat([Buffer.from(`$${payload.length}\r\n`), payload, Buffer.from('\r\n:5\r\n')])
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += 1000) chunks.push(bytes.subarray(at, at + 1000))
  const got = parseAll(chunks)
  t.equal(got.length, 2)
  t.ok(payload.equals(got[0] as Buffer), 'payload intact')
  t.equal(got[1], 5)
})

t.test('a bulk string is a copy: reusing the chunk afterwards does not change it', async t => {
  const chunk = Buffer.from('$3\r\nabc\r\n')
  const [value] = parseAll([chunk])
  chunk.fill(0x78)
  t.equal((value as Buffer).toString(), 'abc')
})

t.test('replies complete in one chunk are delivered before a later malformed one throws', async t => {
  const out: RespValue[] = []
  const parser = new RespParser(value => out.push(value))
  protocolError(t, () => parser.feed(Buffer.from(':1\r\n!oops\r\n')), /unknown reply type 0x21/)
  t.same(out, [1])
})

t.test('malformed replies throw WS_ERR_REDIS_PROTOCOL', async t => {
  const cases: Array<[string, RegExp]> = [
    ['?\r\n', /unknown reply type/],
    [':12a\r\n', /invalid integer/],
    [':\r\n', /invalid integer/],
    [':99999999999999999\r\n', /invalid integer|out of range/],
    ['$-2\r\n', /out of range/],
    ['*-5\r\n', /out of range/],
    ['$3\r\nabcd\r\n', /not followed by CRLF/],
    ['+OK\n', /not ended by CRLF/],
    ['\r\n', /not ended by CRLF/]
  ]
  for (const [bytes, detail] of cases) protocolError(t, () => parseAll([Buffer.from(bytes)]), detail)
})

t.test('a reply announcing more elements, depth or bytes than it may hold is refused at that header', async t => {
  limitError(t, () => parseAll([Buffer.from('*11\r\n')], { maxReplyElements: 10 }), /more than 10 elements/)
  // the elements of nested arrays count toward the same total
  t.same(parseAll([Buffer.from('*2\r\n*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n*4\r\n*0\r\n*0\r\n*0\r\n*0\r\n')], { maxReplyElements: 10 }),
    [[[1, 2, 3, 4], [[], [], [], []]]], 'ten elements in all, at the limit')
  limitError(t, () => parseAll([Buffer.from('*2\r\n*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n*5\r\n')], { maxReplyElements: 10 }), /more than 10 elements/)
  limitError(t, () => parseAll([Buffer.from('*1\r\n*1\r\n*1\r\n')], { maxReplyDepth: 2 }), /nested deeper than 2/)
  t.same(parseAll([Buffer.from('*1\r\n*1\r\n:3\r\n')], { maxReplyDepth: 2 }), [[[3]]], 'the deepest allowed nesting parses')
  // bytes: a bulk string is counted at its header, before its bytes arrive
  limitError(t, () => parseAll([Buffer.from('*2\r\n$40\r\n')], { maxReplyBytes: 40 }), /more than 40 bytes/)
  t.same(parseAll([Buffer.from('*2\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n')], { maxReplyBytes: 40 }),
    [[Buffer.from('0123456789'), Buffer.from('0123456789')]], 'two 10-byte bulks and their lines fit in 40 bytes')
})

t.test('the limits hold per reply: a stream of many small replies is never refused', async t => {
  const bytes = Buffer.from('*2\r\n*0\r\n$3\r\nabc\r\n'.repeat(10_000))
  const got = parseAll([bytes], { maxReplyElements: 2, maxReplyBytes: 32 })
  t.equal(got.length, 10_000)
  t.same(got[9_999], [[], Buffer.from('abc')])
})

t.test('a server streaming arrays of empty arrays after PING is cut off within the default bounds', async t => {
  // the shape that grew the parser to heap exhaustion: each array announces the most it may hold,
  // and each of its elements is another such array, or an empty one
  const out: RespValue[] = []
  const parser = new RespParser(value => out.push(value))
  parser.feed(Buffer.from('+PONG\r\n'))
  const nested = Buffer.from('*1024\r\n'.repeat(8))
  limitError(t, () => parser.feed(nested), /more than 1024 elements/)
  const flat = new RespParser(value => out.push(value))
  const empties = Buffer.from('*1024\r\n' + '*0\r\n'.repeat(1024) + '*1024\r\n' + '*0\r\n'.repeat(1024))
  flat.feed(empties)
  t.equal(out.length, 3, 'PONG, then two whole replies of 1024 empty arrays: each reply is bounded, not the stream')
  const deep = new RespParser(() => {})
  limitError(t, () => deep.feed(Buffer.from('*1\r\n'.repeat(5))), /nested deeper than 4/)
})

t.test('a bulk string longer than maxBulkLength is skipped as it arrives, and the replies after it go on', async t => {
  const payload = Buffer.alloc(1000, 0x61)
  const bytes = Buffer.concat([Buffer.from('*2\r\n$1000\r\n'), payload, Buffer.from('\r\n:7\r\n$3\r\nabc\r\n')])
  for (const cut of [1, 10, 12, 500, 1012, 1013, 1014]) {
    const got = parseAll([bytes.subarray(0, cut), bytes.subarray(cut)], { maxBulkLength: 999 })
    t.same(got, [[new RespSkipped(1000), 7], Buffer.from('abc')], `cut at ${cut}`)
    t.ok((got[0] as RespValue[])[0] instanceof RespSkipped)
  }
  t.same(parseAll([bytes], { maxBulkLength: 1000 })[0], [payload, 7], 'at the limit it is kept')
  protocolError(t, () => parseAll([Buffer.from('$3\r\nabcX')], { maxBulkLength: 2 }), /not followed by CRLF/)
})

t.test('a skipped 256 MiB bulk string holds no memory while it streams', async t => {
  const chunk = Buffer.alloc(64 * 1024, 0x62)
  const out: RespValue[] = []
  const parser = new RespParser(value => out.push(value))
  const size = 256 * 1024 * 1024
  parser.feed(Buffer.from(`$${size}\r\n`))
  const before = process.memoryUsage().arrayBuffers
  for (let sent = 0; sent < size; sent += chunk.length) parser.feed(chunk)
  const grown = process.memoryUsage().arrayBuffers - before
  parser.feed(Buffer.from('\r\n'))
  t.same(out, [new RespSkipped(size)])
  t.ok(grown < 1024 * 1024, `external memory grew ${grown} bytes over 256 MiB streamed`)
})

t.test('a kept bulk string is copied once, from the chunks into its own buffer', async t => {
  const size = 32 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 0x63)
  let atReply = 0
  const before = process.memoryUsage().arrayBuffers
  const parser = new RespParser(value => {
    // measured while the parser still holds whatever it used on the way
    atReply = process.memoryUsage().arrayBuffers - before
    t.equal((value as Buffer).length, size)
  }, { maxBulkLength: size })
  parser.feed(Buffer.from(`$${size}\r\n`))
  for (let sent = 0; sent < size; sent += chunk.length) parser.feed(chunk)
  parser.feed(Buffer.from('\r\n'))
  t.ok(atReply >= size && atReply < size * 1.25, `${(atReply / size).toFixed(2)} x the payload held when it is delivered (one copy)`)
})

t.test('a line longer than the limit is refused, whether or not its end has arrived', async t => {
  t.same(parseAll([Buffer.from('+' + 'a'.repeat(16) + '\r\n')], { maxLineLength: 16 }), ['a'.repeat(16)], 'at the limit')
  limitError(t, () => parseAll([Buffer.from('+' + 'a'.repeat(17) + '\r\n')], { maxLineLength: 16 }), /line too long/)
  const parser = new RespParser(() => {}, { maxLineLength: 16 })
  parser.feed(Buffer.from('+' + 'a'.repeat(17)))
  limitError(t, () => parser.feed(Buffer.from('aa')), /line too long/)
  const split = new RespParser(() => {}, { maxLineLength: 16 })
  split.feed(Buffer.from('+' + 'a'.repeat(10)))
  limitError(t, () => split.feed(Buffer.from('a'.repeat(7) + '\r\n')), /line too long/)
  const fits: RespValue[] = []
  const joined = new RespParser(value => fits.push(value), { maxLineLength: 16 })
  joined.feed(Buffer.from('+' + 'a'.repeat(10)))
  joined.feed(Buffer.from('a'.repeat(6) + '\r'))
  joined.feed(Buffer.from('\n:1\r\n'))
  t.same(fits, ['a'.repeat(16), 1], 'a line in three chunks at the limit')
})

t.test('reset() forgets a partial reply so a new connection parses cleanly', async t => {
  const out: RespValue[] = []
  const parser = new RespParser(value => out.push(value))
  parser.feed(Buffer.from('*2\r\n$5\r\nab'))
  parser.reset()
  parser.feed(Buffer.from('+PONG\r\n'))
  t.same(out, ['PONG'])
  protocolError(t, () => parser.feed(Buffer.from('x\r\n')), /unknown reply type/)
  parser.reset()
  parser.feed(Buffer.from(':0\r\n'))
  t.same(out, ['PONG', 0])
})
