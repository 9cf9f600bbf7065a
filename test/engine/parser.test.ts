import t, { type Test } from 'tap'
import { FrameParser, type FrameHandler } from '../../lib/engine/parser'
import type { WebSocketError } from '../../lib/errors'
import { frame, splitAt } from '../helpers/frames'

interface Event { kind: 'data' | 'control' | 'error', opcode: number, bytes: Buffer, frameDone?: boolean, messageDone?: boolean, code?: string }

class Collector implements FrameHandler {
  events: Event[] = []
  parser!: FrameParser
  onDataPiece (piece: Buffer, frameDone: boolean, messageDone: boolean): void {
    this.events.push({ kind: 'data', opcode: this.parser.messageOpcode, bytes: Buffer.from(piece), frameDone, messageDone })
  }

  onControlFrame (opcode: number, payload: Buffer): void {
    this.events.push({ kind: 'control', opcode, bytes: Buffer.from(payload) })
  }

  onParseError (err: WebSocketError): void {
    this.events.push({ kind: 'error', opcode: -1, bytes: Buffer.alloc(0), code: err.code })
  }
}

function parse (chunks: Buffer[], role: 'server' | 'client', maxPayload = 1 << 24, allowRsv1 = false): Event[] {
  const c = new Collector()
  c.parser = new FrameParser(c, { role, maxPayload, allowRsv1 })
  for (const chunk of chunks) c.parser.push(Buffer.from(chunk)) // copies: the parser unmasks in place
  return c.events
}

/** Data pieces merged per message, control frames as they are. */
function summarize (events: Event[]): string[] {
  const out: string[] = []
  let acc: Buffer[] = []
  for (const e of events) {
    if (e.kind === 'data') {
      acc.push(e.bytes)
      if (e.messageDone === true) { out.push(`msg:${e.opcode}:${Buffer.concat(acc).toString('hex')}`); acc = [] }
    } else if (e.kind === 'control') out.push(`ctl:${e.opcode}:${e.bytes.toString('hex')}`)
    else out.push(`err:${e.code}`)
  }
  return out
}

function everySplit (t: Test, name: string, bytes: Buffer, role: 'server' | 'client', expected: string[]): void {
  t.test(name, async t => {
    t.same(summarize(parse([bytes], role)), expected, 'whole')
    for (let i = 1; i < bytes.length; i++) {
      t.same(summarize(parse(splitAt(bytes, [i]), role)), expected, `split at ${i}`)
    }
    const bytewise = [...bytes].map(b => Buffer.from([b]))
    t.same(summarize(parse(bytewise, role)), expected, 'one byte at a time')
  })
}

const hello = Buffer.from('Hello').toString('hex')

t.test('the examples of RFC 6455 section 5.7 parse byte for byte at every split point', async t => {
  everySplit(t, 'a single-frame unmasked text message', Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]), 'client', [`msg:1:${hello}`])
  everySplit(t, 'a single-frame masked text message',
    Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]), 'server', [`msg:1:${hello}`])
  everySplit(t, 'a fragmented unmasked text message',
    Buffer.from([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]), 'client', [`msg:1:${hello}`])
  everySplit(t, 'an unmasked ping', Buffer.from([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]), 'client', [`ctl:9:${hello}`])
  everySplit(t, 'a masked pong answering it',
    Buffer.from([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]), 'server', [`ctl:10:${hello}`])
  const b256 = Buffer.alloc(256, 7)
  everySplit(t, '256 bytes of binary data in a single unmasked frame',
    Buffer.concat([Buffer.from([0x82, 0x7e, 0x01, 0x00]), b256]), 'client', [`msg:2:${b256.toString('hex')}`])
  const b64k = Buffer.alloc(65536, 9)
  t.test('64 KiB of binary data in a single unmasked frame (64-bit length)', async t => {
    const bytes = Buffer.concat([Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]), b64k])
    const expected = [`msg:2:${b64k.toString('hex')}`]
    for (const i of [1, 2, 5, 9, 10, 11, 4000, 65545]) t.same(summarize(parse(splitAt(bytes, [i]), 'client')), expected, `split at ${i}`)
  })
})

t.test('several frames in one chunk are all parsed, in order', async t => {
  const bytes = Buffer.concat([
    frame({ opcode: 1, payload: 'a', mask: true }),
    frame({ opcode: 9, payload: 'p', mask: true }),
    frame({ opcode: 2, payload: Buffer.from([1, 2]), mask: true })
  ])
  t.same(summarize(parse([bytes], 'server')), ['msg:1:61', 'ctl:9:70', 'msg:2:0102'])
})

t.test('a payload split across chunks arrives as views in pieces, then the frame ends', async t => {
  const bytes = frame({ opcode: 2, payload: Buffer.alloc(1000, 1), mask: true })
  const events = parse(splitAt(bytes, [300, 700]), 'server')
  t.equal(events.length, 3)
  t.same(events.map(e => e.frameDone), [false, false, true])
  t.equal(events.reduce((n, e) => n + e.bytes.length, 0), 1000)
})

t.test('control frames may arrive between the fragments of a message', async t => {
  const bytes = Buffer.concat([
    frame({ opcode: 1, fin: false, payload: 'ab', mask: true }),
    frame({ opcode: 9, payload: 'x', mask: true }),
    frame({ opcode: 0, fin: false, payload: 'cd', mask: true }),
    frame({ opcode: 10, payload: '', mask: true }),
    frame({ opcode: 0, payload: 'e', mask: true })
  ])
  t.same(summarize(parse([bytes], 'server')), ['ctl:9:78', 'ctl:10:', `msg:1:${Buffer.from('abcde').toString('hex')}`])
})

t.test('a control frame split across chunks is gathered whole', async t => {
  const bytes = frame({ opcode: 9, payload: Buffer.alloc(125, 3), mask: true })
  t.same(summarize(parse(splitAt(bytes, [10, 50, 100]), 'server')), [`ctl:9:${Buffer.alloc(125, 3).toString('hex')}`])
})

t.test('an empty data frame yields one empty, finished piece', async t => {
  const events = parse([frame({ opcode: 2, mask: true })], 'server')
  t.equal(events.length, 1)
  t.equal(events[0].bytes.length, 0)
  t.ok(events[0].messageDone)
})

t.test('every framing violation is reported with its own error code', async t => {
  const cases: Array<[string, Buffer, 'server' | 'client', string]> = [
    ['reserved data opcode 0x3', frame({ opcode: 3, mask: true }), 'server', 'WS_ERR_INVALID_OPCODE'],
    ['reserved data opcode 0x7', frame({ opcode: 7, mask: true }), 'server', 'WS_ERR_INVALID_OPCODE'],
    ['reserved control opcode 0xb', frame({ opcode: 0xb, mask: true }), 'server', 'WS_ERR_INVALID_OPCODE'],
    ['reserved control opcode 0xf', frame({ opcode: 0xf, mask: true }), 'server', 'WS_ERR_INVALID_OPCODE'],
    ['RSV1 without an extension', frame({ opcode: 1, rsv: 4, mask: true }), 'server', 'WS_ERR_UNEXPECTED_RSV_1'],
    ['RSV2', frame({ opcode: 1, rsv: 2, mask: true }), 'server', 'WS_ERR_UNEXPECTED_RSV_2_3'],
    ['RSV3', frame({ opcode: 1, rsv: 1, mask: true }), 'server', 'WS_ERR_UNEXPECTED_RSV_2_3'],
    ['an unmasked frame from a client', frame({ opcode: 1, payload: 'x' }), 'server', 'WS_ERR_EXPECTED_MASK'],
    ['a masked frame from a server', frame({ opcode: 1, payload: 'x', mask: true }), 'client', 'WS_ERR_UNEXPECTED_MASK'],
    ['a ping of 126 bytes', frame({ opcode: 9, payload: Buffer.alloc(126), mask: true }), 'server', 'WS_ERR_CONTROL_TOO_LONG'],
    ['a fragmented ping', frame({ opcode: 9, fin: false, mask: true }), 'server', 'WS_ERR_FRAGMENTED_CONTROL'],
    ['a continuation with nothing to continue', frame({ opcode: 0, payload: 'x', mask: true }), 'server', 'WS_ERR_UNEXPECTED_CONTINUATION'],
    ['a new text frame inside a fragmented message',
      Buffer.concat([frame({ opcode: 1, fin: false, payload: 'a', mask: true }), frame({ opcode: 1, payload: 'b', mask: true })]),
      'server', 'WS_ERR_EXPECTED_CONTINUATION']
  ]
  for (const [name, bytes, role, code] of cases) {
    const events = parse([bytes], role)
    t.equal(events.at(-1)?.code, code, name)
    t.notOk(events.some(e => e.kind === 'data' && e.messageDone === true), `${name}: no message delivered`)
  }
})

t.test('a 64-bit length with the most significant bit set fails', async t => {
  const bytes = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4])
  t.same(summarize(parse([bytes], 'server')), ['err:WS_ERR_INVALID_LENGTH'])
})

t.test('RSV1 on a continuation or a control frame fails even when deflate is negotiated', async t => {
  const cont = Buffer.concat([frame({ opcode: 1, rsv: 4, fin: false, payload: 'a', mask: true }), frame({ opcode: 0, rsv: 4, payload: 'b', mask: true })])
  t.equal(summarize(parse([cont], 'server', 1 << 20, true)).at(-1), 'err:WS_ERR_UNEXPECTED_RSV_1')
  t.same(summarize(parse([frame({ opcode: 9, rsv: 4, mask: true })], 'server', 1 << 20, true)), ['err:WS_ERR_UNEXPECTED_RSV_1'])
  const ok = parse([frame({ opcode: 2, rsv: 4, payload: 'z', mask: true })], 'server', 1 << 20, true)
  t.equal(ok[0].kind, 'data', 'RSV1 on the first frame is accepted once negotiated')
})

t.test('maxPayload is enforced from the frame header, before any payload is buffered', async t => {
  // only the 10-byte header of a frame announcing 2 MiB is pushed
  const header = frame({ opcode: 2, payload: Buffer.alloc(0), lengthBits: 64, mask: Buffer.from([1, 2, 3, 4]) })
  header.writeUInt32BE(2 * 1024 * 1024, 6)
  t.same(summarize(parse([header], 'server', 1024 * 1024)), ['err:WS_ERR_MESSAGE_TOO_BIG'])
})

t.test('maxPayload counts every fragment of a message together', async t => {
  const bytes = Buffer.concat([
    frame({ opcode: 2, fin: false, payload: Buffer.alloc(600), mask: true }),
    frame({ opcode: 0, payload: Buffer.alloc(600), mask: true })
  ])
  t.same(summarize(parse([bytes], 'server', 1000)).at(-1), 'err:WS_ERR_MESSAGE_TOO_BIG')
  const next = Buffer.concat([frame({ opcode: 2, payload: Buffer.alloc(600), mask: true }), frame({ opcode: 2, payload: Buffer.alloc(600), mask: true })])
  t.equal(summarize(parse([next], 'server', 1000)).length, 2, 'the count starts again for each message')
})

t.test('after an error the parser ignores every later byte', async t => {
  const c = new Collector()
  c.parser = new FrameParser(c, { role: 'server', maxPayload: 100 })
  c.parser.push(frame({ opcode: 3, mask: true }))
  c.parser.push(frame({ opcode: 1, payload: 'late', mask: true }))
  t.equal(c.events.length, 1)
  t.ok(c.parser.stopped)
})

t.test('bytes pushed while paused are held, then parsed in order on resume', async t => {
  const c = new Collector()
  c.parser = new FrameParser(c, { role: 'server', maxPayload: 100 })
  c.parser.pause()
  c.parser.push(Buffer.concat([frame({ opcode: 1, payload: 'a', mask: true }), frame({ opcode: 1, payload: 'b', mask: true })]))
  t.equal(c.events.length, 0)
  t.ok(c.parser.backlogLength > 0)
  c.parser.resume()
  t.same(summarize(c.events), ['msg:1:61', 'msg:1:62'])
  t.equal(c.parser.backlogLength, 0)
})
