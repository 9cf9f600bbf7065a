// RFC 6455 section 5: base framing as the server must enforce it. Every violation must fail the
// connection with a close frame carrying 1002 (read back from the wire), after which the server
// closes TCP; every valid length encoding must round-trip, in any split of the bytes.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { RawClient, clientFrame, firstDifference } from '../helpers/raw-client'
import { frame } from '../helpers/frames'
import { startServer, assertServerClosed } from './fixture'

t.test('framing', async t => {
  const { port } = await startServer(t)
  const open = (tt: typeof t): Promise<RawClient> => RawClient.open(port, tt)

  t.test('an unmasked client frame is answered with close 1002, then the server closes TCP', async t => {
    const client = await open(t)
    // RFC 6455 section 5.1: the server MUST close the connection on an unmasked frame
    client.write(frame({ opcode: 0x1, payload: 'not masked' }))
    await assertServerClosed(t, client, 1002)
  })

  for (const [bit, rsv] of [['RSV1', 4], ['RSV2', 2], ['RSV3', 1], ['all three RSV bits', 7]] as const) {
    t.test(`a frame with ${bit} set and no extension negotiated is answered with close 1002`, async t => {
      const client = await open(t)
      client.write(clientFrame(0x1, 'reserved', true, rsv))
      await assertServerClosed(t, client, 1002)
    })
  }

  t.test('RSV1 on a ping is answered with close 1002', async t => {
    const client = await open(t)
    client.write(clientFrame(0x9, 'p', true, 4))
    await assertServerClosed(t, client, 1002)
  })

  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    t.test(`reserved opcode 0x${opcode.toString(16).toUpperCase()} is answered with close 1002`, async t => {
      const client = await open(t)
      client.write(clientFrame(opcode, 'payload'))
      await assertServerClosed(t, client, 1002)
    })
  }

  t.test('a reserved opcode after a valid message fails only after the message is echoed', async t => {
    const client = await open(t)
    client.write(Buffer.concat([clientFrame(0x1, 'first'), clientFrame(0xb, '')]))
    const echo = await client.readFrame()
    t.equal(echo.payload.toString(), 'first')
    await assertServerClosed(t, client, 1002)
  })

  t.test('a 64-bit length with the most significant bit set is answered with close 1002', async t => {
    const client = await open(t)
    // RFC 6455 section 5.2: the most significant bit of a 64-bit length MUST be 0
    client.write(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]))
    await assertServerClosed(t, client, 1002)
  })

  t.test('a ping with a 126-byte payload is answered with close 1002', async t => {
    const client = await open(t)
    // RFC 6455 section 5.5: control frames carry at most 125 bytes
    client.write(clientFrame(0x9, Buffer.alloc(126, 0x61)))
    await assertServerClosed(t, client, 1002)
  })

  t.test('a close frame with a 126-byte payload is answered with close 1002', async t => {
    const client = await open(t)
    const payload = Buffer.alloc(126, 0x61)
    payload.writeUInt16BE(1000, 0)
    client.write(clientFrame(0x8, payload))
    await assertServerClosed(t, client, 1002)
  })

  t.test('a ping with a 125-byte payload is answered with a pong carrying it', async t => {
    const client = await open(t)
    const payload = randomBytes(125)
    client.write(clientFrame(0x9, payload))
    const pong = await client.readFrame()
    t.equal(pong.opcode, 0xa)
    t.same(pong.payload, payload)
    t.equal(pong.masked, false, 'server frames are never masked')
  })

  t.test('a fragmented ping is answered with close 1002', async t => {
    const client = await open(t)
    // RFC 6455 section 5.5: control frames MUST NOT be fragmented
    client.write(clientFrame(0x9, 'frag', false))
    await assertServerClosed(t, client, 1002)
  })

  t.test('a continuation frame with no message to continue is answered with close 1002', async t => {
    const client = await open(t)
    client.write(clientFrame(0x0, 'orphan', true))
    await assertServerClosed(t, client, 1002)
  })

  t.test('a new text frame inside a fragmented message is answered with close 1002', async t => {
    const client = await open(t)
    client.write(Buffer.concat([clientFrame(0x1, 'start', false), clientFrame(0x1, 'again', true)]))
    await assertServerClosed(t, client, 1002)
  })

  t.test('a new binary frame inside a fragmented text message is answered with close 1002', async t => {
    const client = await open(t)
    client.write(Buffer.concat([clientFrame(0x1, 'start', false), clientFrame(0x0, 'more', false), clientFrame(0x2, 'x', true)]))
    await assertServerClosed(t, client, 1002)
  })

  // RFC 6455 section 5.2: 7-bit lengths up to 125, 16-bit up to 65535, 64-bit beyond, minimal
  for (const [size, headerLength, lengthByte] of [[0, 2, 0], [125, 2, 125], [126, 4, 126], [65535, 4, 126], [65536, 10, 127]]) {
    t.test(`a ${size}-byte binary message is echoed with the minimal length encoding`, async t => {
      const client = await open(t)
      const payload = randomBytes(size)
      client.write(clientFrame(0x2, payload))
      const echo = await client.readFrame()
      t.equal(echo.opcode, 0x2)
      t.equal(echo.fin, true)
      t.equal(echo.masked, false)
      t.equal(echo.payload.length, size)
      t.ok(echo.payload.equals(payload), 'same bytes')
      t.equal(echo.header.length, headerLength, `a ${headerLength}-byte header`)
      t.equal(echo.header[1], lengthByte, `length byte ${lengthByte}`)
    })
  }

  t.test('a client frame with a non-minimal 64-bit length for 5 bytes is still understood', async t => {
    const client = await open(t)
    client.write(frame({ opcode: 0x1, payload: 'short', mask: true, lengthBits: 64 }))
    t.equal((await client.readFrame()).payload.toString(), 'short')
  })

  t.test('a message sent one byte per TCP write is echoed intact', async t => {
    const client = await open(t)
    const text = 'héllo, one byte at a time ✓ '.repeat(8)
    const bytes = Buffer.concat([clientFrame(0x1, text), clientFrame(0x2, randomBytes(300)), clientFrame(0x9, 'ping')])
    await client.writeInPieces(bytes, 1)
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x1)
    t.equal(echo.payload.toString(), text)
    t.equal((await client.readFrame()).payload.length, 300)
    const pong = await client.readFrame()
    t.equal(pong.opcode, 0xa)
    t.equal(pong.payload.toString(), 'ping')
  })

  t.test('a large message written in pieces that split the masking key at every phase is echoed intact', async t => {
    const client = await open(t)
    const payload = randomBytes(200_003)
    const bytes = clientFrame(0x2, payload)
    // pieces of 4093, 4094, 4095 and 4096 bytes: each piece starts at another key phase
    const cuts: number[] = []
    for (let at = 0, i = 0; at < bytes.length; i++) cuts.push(at += 4093 + (i % 4))
    let from = 0
    for (const to of cuts) {
      await new Promise<void>(resolve => client.socket.write(bytes.subarray(from, to), () => resolve()))
      await new Promise(resolve => setImmediate(resolve))
      from = to
    }
    const echo = await client.readFrame()
    t.equal(echo.payload.length, payload.length)
    t.equal(firstDifference(echo.payload, payload), -1, 'no byte differs')
  })

  t.test('many messages in one write are all echoed, in order', async t => {
    const client = await open(t)
    const messages = Array.from({ length: 200 }, (_, i) => `message ${i}`)
    client.write(Buffer.concat(messages.map(m => clientFrame(0x1, m))))
    const got: string[] = []
    for (let i = 0; i < messages.length; i++) got.push((await client.readFrame()).payload.toString())
    t.same(got, messages)
  })

  t.test('1000 pings in one write get 1000 pongs, in order', async t => {
    const client = await open(t)
    client.write(Buffer.concat(Array.from({ length: 1000 }, (_, i) => clientFrame(0x9, String(i)))))
    let inOrder = 0
    for (let i = 0; i < 1000; i++) {
      const pong = await client.readFrame()
      if (pong.opcode === 0xa && pong.payload.toString() === String(i)) inOrder++
    }
    t.equal(inOrder, 1000)
  })

  t.test('a declined permessage-deflate offer leaves RSV1 forbidden', async t => {
    const { client, head } = await RawClient.request(port, t, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' } })
    t.equal(head.statusCode, 101)
    t.equal(head.headers['sec-websocket-extensions'], undefined, 'deflate is off on this server: no extension agreed')
    client.write(clientFrame(0x1, 'x', true, 4))
    await assertServerClosed(t, client, 1002)
  })

  t.test('an unsolicited pong is ignored', async t => {
    const client = await open(t)
    client.write(Buffer.concat([clientFrame(0xa, 'unsolicited'), clientFrame(0x1, 'after')]))
    const next = await client.readFrame()
    t.equal(next.opcode, 0x1, 'no answer to the pong, the next frame is the echo')
    t.equal(next.payload.toString(), 'after')
  })
})
