// RFC 6455 sections 5.6 and 8.1: text messages and close reasons must be valid UTF-8; the
// server fails the connection with 1007 on the first invalid byte, without waiting for the rest
// of a fragmented message.
import t from 'tap'
import { RawClient, clientFrame } from '../helpers/raw-client'
import { startServer, assertServerClosed } from './fixture'

/** Invalid sequences, each complete enough to be rejected on its own (none is a valid prefix). */
const INVALID: Array<[string, number[]]> = [
  ['a lone continuation byte', [0x80]],
  ['an overlong two-byte NUL', [0xc0, 0x80]],
  ['an overlong three-byte slash', [0xe0, 0x80, 0xaf]],
  ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
  ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['the byte 0xFF', [0xff]],
  ['a lead byte followed by ASCII', [0xe2, 0x41]]
]

t.test('utf-8', async t => {
  const { port } = await startServer(t)

  for (const [what, bytes] of INVALID) {
    t.test(`a text frame containing ${what} is answered with close 1007`, async t => {
      const client = await RawClient.open(port, t)
      client.write(clientFrame(0x1, Buffer.concat([Buffer.from('κόσμε '), Buffer.from(bytes), Buffer.from(' edited')])))
      await assertServerClosed(t, client, 1007)
    })
  }

  t.test('a text message that ends inside a multi-byte sequence is answered with close 1007', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x1, Buffer.from([0x61, 0xe2, 0x82])))
    await assertServerClosed(t, client, 1007)
  })

  t.test('invalid UTF-8 in the middle of a fragmented message fails before the final fragment is sent', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x1, 'valid start ', false))
    client.write(clientFrame(0x0, Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]), false))
    // the final fragment is never sent: the close must come without it (fail fast)
    await assertServerClosed(t, client, 1007)
  })

  t.test('invalid UTF-8 in the first bytes of a large frame fails before the frame is complete', async t => {
    const client = await RawClient.open(port, t)
    const whole = clientFrame(0x1, Buffer.concat([Buffer.from([0xff]), Buffer.alloc(100_000, 0x61)]))
    client.write(whole.subarray(0, 1000))
    await assertServerClosed(t, client, 1007)
  })

  t.test('a multi-byte character split across fragments is echoed intact', async t => {
    const client = await RawClient.open(port, t)
    const euro = Buffer.from('€') // e2 82 ac
    const pile = Buffer.from('𝄞') // f0 9d 84 9e
    client.write(Buffer.concat([
      clientFrame(0x1, Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]), false),
      clientFrame(0x0, euro.subarray(1, 2), false),
      clientFrame(0x0, Buffer.concat([euro.subarray(2), pile.subarray(0, 3)]), false),
      clientFrame(0x0, Buffer.concat([pile.subarray(3), Buffer.from('b')]), true)
    ]))
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x1)
    t.equal(echo.payload.toString(), 'a€𝄞b')
  })

  t.test('a multi-byte character split across TCP writes inside one frame is echoed intact', async t => {
    const client = await RawClient.open(port, t)
    const text = 'ünïcödé ✓ 𝄞 '.repeat(4)
    await client.writeInPieces(clientFrame(0x1, text), 3)
    t.equal((await client.readFrame()).payload.toString(), text)
  })

  t.test('invalid UTF-8 in a binary message is echoed: only text is checked', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x2, Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80])))
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x2)
    t.same(echo.payload, Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]))
  })

  t.test('invalid UTF-8 in a close reason is answered with close 1007', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, Buffer.from([0x03, 0xe8, 0x61, 0xff, 0x62])))
    await assertServerClosed(t, client, 1007)
  })

  t.test('a close reason with valid multi-byte UTF-8 is accepted and the code echoed', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('au revoir ✓')])))
    await assertServerClosed(t, client, 1000)
  })
})
