// RFC 7692 (permessage-deflate) as the server must enforce it once negotiated: RSV1 marks the
// first frame of a compressed message only, never a control frame or a continuation; compressed
// data that does not inflate is 1007; an inflated size over maxPayload is 1009.
import t from 'tap'
import { deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib'
import { RawClient, clientFrame } from '../helpers/raw-client'
import { startServer, assertServerClosed, SMALL_MAX_PAYLOAD } from './fixture'

const OFFER = { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }

const TAIL = Buffer.from([0, 0, 0xff, 0xff])

/** RFC 7692 section 7.2.2: append 00 00 ff ff and inflate. */
function inflate (data: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([data, TAIL]), { finishFlush: zlib.Z_SYNC_FLUSH })
}

/** RFC 7692 section 7.2.1: deflate, sync-flush, and drop the trailing 00 00 ff ff. */
function compress (data: string | Buffer): Buffer {
  const out = deflateRawSync(data, { finishFlush: zlib.Z_SYNC_FLUSH })
  if (!out.subarray(-4).equals(TAIL)) throw new Error('a sync flush ends with 00 00 ff ff')
  return out.subarray(0, out.length - 4)
}

t.test('permessage-deflate', async t => {
  const { port } = await startServer(t, { perMessageDeflate: { threshold: 1024 } })
  const open = (tt: typeof t, path = '/'): Promise<RawClient> => RawClient.open(port, tt, path, OFFER)

  t.test('the offer is accepted and named in the 101', async t => {
    const { head } = await RawClient.request(port, t, { headers: OFFER })
    t.equal(head.statusCode, 101)
    t.match(head.headers['sec-websocket-extensions'], /^permessage-deflate/)
  })

  t.test('a compressed text message (RSV1) is inflated and echoed', async t => {
    const client = await open(t)
    client.write(clientFrame(0x1, compress('Hello'), true, 4))
    const echo = await client.readFrame()
    t.equal(echo.rsv, 0, 'below the threshold the echo goes uncompressed')
    t.equal(echo.payload.toString(), 'Hello')
  })

  t.test('the RFC 7692 section 7.2.3.1 sample, "Hello" in one compressed frame, is inflated', async t => {
    const client = await open(t)
    client.write(clientFrame(0x1, Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]), true, 4))
    t.equal((await client.readFrame()).payload.toString(), 'Hello')
  })

  t.test('the RFC 7692 section 7.2.3.1 fragmented sample is inflated', async t => {
    const client = await open(t)
    client.write(Buffer.concat([
      clientFrame(0x1, Buffer.from([0xf2, 0x48, 0xcd]), false, 4),
      clientFrame(0x0, Buffer.from([0xc9, 0xc9, 0x07, 0x00]), true, 0)
    ]))
    t.equal((await client.readFrame()).payload.toString(), 'Hello')
  })

  t.test('a large echo is sent compressed with RSV1 and inflates to the original', async t => {
    const client = await open(t)
    const text = 'compress me please '.repeat(200)
    client.write(clientFrame(0x1, text))
    const echo = await client.readFrame()
    t.equal(echo.rsv, 4, 'RSV1 set')
    t.ok(echo.payload.length < text.length / 4, 'compressed on the wire')
    t.equal(inflate(echo.payload).toString(), text)
  })

  t.test('a fragmented compressed message with RSV1 on its first frame only is echoed', async t => {
    const client = await open(t)
    const data = compress('fragmented and compressed')
    client.write(Buffer.concat([
      clientFrame(0x1, data.subarray(0, 5), false, 4),
      clientFrame(0x9, 'between'),
      clientFrame(0x0, data.subarray(5), true, 0)
    ]))
    const pong = await client.readFrame()
    t.equal(pong.opcode, 0xa)
    t.equal((await client.readFrame()).payload.toString(), 'fragmented and compressed')
  })

  t.test('RSV1 on a continuation frame is answered with close 1002', async t => {
    const client = await open(t)
    const data = compress('abcdef')
    client.write(Buffer.concat([clientFrame(0x1, data.subarray(0, 3), false, 4), clientFrame(0x0, data.subarray(3), true, 4)]))
    await assertServerClosed(t, client, 1002)
  })

  t.test('RSV1 on a ping is answered with close 1002', async t => {
    const client = await open(t)
    client.write(clientFrame(0x9, 'x', true, 4))
    await assertServerClosed(t, client, 1002)
  })

  t.test('RSV2 is still forbidden with permessage-deflate and answered with close 1002', async t => {
    const client = await open(t)
    client.write(clientFrame(0x1, 'x', true, 2))
    await assertServerClosed(t, client, 1002)
  })

  t.test('compressed data that does not inflate is answered with close 1007', async t => {
    const client = await open(t)
    client.write(clientFrame(0x2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x11]), true, 4))
    await assertServerClosed(t, client, 1007)
  })

  t.test('compressed text that inflates to invalid UTF-8 is answered with close 1007', async t => {
    const client = await open(t)
    client.write(clientFrame(0x1, compress(Buffer.from([0x61, 0xed, 0xa0, 0x80])), true, 4))
    await assertServerClosed(t, client, 1007)
  })

  t.test('a small frame that inflates past maxPayload is answered with close 1009', async t => {
    const client = await open(t, '/limited')
    const bomb = compress(Buffer.alloc(SMALL_MAX_PAYLOAD * 16))
    t.ok(bomb.length < SMALL_MAX_PAYLOAD, `${bomb.length} bytes on the wire`)
    client.write(clientFrame(0x2, bomb, true, 4))
    await assertServerClosed(t, client, 1009)
  })
})
