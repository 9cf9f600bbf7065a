// RESP2 encoder and streaming parser, on bytes: exact encodings, every reply type, every split
// point of a stream, binary safety, and the limits that refuse a hostile server.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { encodeCommand, RespError, RespParser, type RespLimits, type RespValue } from '../../lib/pubsub/resp'
import { WebSocketError } from '../../lib/errors'

function parseAll (chunks: Buffer[], limits?: RespLimits): RespValue[] {
  const out: RespValue[] = []
  const parser = new RespParser(value => out.push(value), limits)
  for (const chunk of chunks) parser.feed(chunk)
  return out
}

function protocolError (t: Test, fn: () => unknown, detail: RegExp): void {
  let thrown: unknown = null
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  t.ok(thrown instanceof WebSocketError, `throws a WebSocketError (${detail})`)
  t.match(thrown, { code: 'WS_ERR_REDIS_PROTOCOL', message: detail })
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

t.test('limits refuse absurd lengths before any payload is buffered', async t => {
  protocolError(t, () => parseAll([Buffer.from('$1000\r\n')], { maxBulkLength: 999 }), /bulk string of 1000 bytes/)
  protocolError(t, () => parseAll([Buffer.from('$536870913\r\n')]), /over the limit/)
  protocolError(t, () => parseAll([Buffer.from('*11\r\n')], { maxArrayLength: 10 }), /array of 11 elements/)
  protocolError(t, () => parseAll([Buffer.from('*1\r\n*1\r\n*1\r\n')], { maxDepth: 2 }), /nested too deep/)
  t.same(parseAll([Buffer.from('*1\r\n*1\r\n:3\r\n')], { maxDepth: 2 }), [[[3]]], 'the deepest allowed nesting parses')
})

t.test('a line longer than the limit is refused, whether or not its end has arrived', async t => {
  t.same(parseAll([Buffer.from('+' + 'a'.repeat(16) + '\r\n')], { maxLineLength: 16 }), ['a'.repeat(16)], 'at the limit')
  protocolError(t, () => parseAll([Buffer.from('+' + 'a'.repeat(17) + '\r\n')], { maxLineLength: 16 }), /line too long/)
  const parser = new RespParser(() => {}, { maxLineLength: 16 })
  parser.feed(Buffer.from('+' + 'a'.repeat(17)))
  protocolError(t, () => parser.feed(Buffer.from('aa')), /line too long/)
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
