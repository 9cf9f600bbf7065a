// RFC 6455 section 5.4: fragmented messages, with control frames interleaved between fragments
// (answered at once, before the message completes), empty fragments, and many fragments.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { RawClient, clientFrame } from '../helpers/raw-client'
import { startServer } from './fixture'

t.test('fragmentation', async t => {
  const { port } = await startServer(t)

  t.test('pings between the fragments of a text message are answered before the message is complete', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([clientFrame(0x1, 'frag-1 ', false), clientFrame(0x9, 'ping-1')]))
    const pong1 = await client.readFrame()
    t.equal(pong1.opcode, 0xa, 'a pong arrives while the message is still open')
    t.equal(pong1.payload.toString(), 'ping-1')
    client.write(Buffer.concat([clientFrame(0x0, 'frag-2 ', false), clientFrame(0x9, 'ping-2')]))
    const pong2 = await client.readFrame()
    t.equal(pong2.opcode, 0xa)
    t.equal(pong2.payload.toString(), 'ping-2')
    t.ok(await client.quietFor(50), 'nothing else is sent before the last fragment')
    client.write(clientFrame(0x0, 'frag-3', true))
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x1)
    t.equal(echo.fin, true, 'the echo is one unfragmented frame')
    t.equal(echo.payload.toString(), 'frag-1 frag-2 frag-3')
  })

  t.test('pongs for pings interleaved in one write come back before the echoed message, in order', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([
      clientFrame(0x2, Buffer.from([1]), false),
      clientFrame(0x9, 'a'),
      clientFrame(0x0, Buffer.from([2]), false),
      clientFrame(0xa, 'ignored pong'),
      clientFrame(0x9, 'b'),
      clientFrame(0x0, Buffer.from([3]), true)
    ]))
    const frames = [await client.readFrame(), await client.readFrame(), await client.readFrame()]
    t.same(frames.map(f => f.opcode), [0xa, 0xa, 0x2])
    t.same(frames.map(f => f.payload.toString('hex')), [Buffer.from('a').toString('hex'), Buffer.from('b').toString('hex'), '010203'])
  })

  t.test('empty fragments are allowed at the start, middle and end of a message', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([
      clientFrame(0x1, '', false),
      clientFrame(0x0, 'abc', false),
      clientFrame(0x0, '', false),
      clientFrame(0x0, 'def', false),
      clientFrame(0x0, '', true)
    ]))
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x1)
    t.equal(echo.payload.toString(), 'abcdef')
  })

  t.test('a message made of empty fragments only is echoed as an empty message', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([clientFrame(0x1, '', false), clientFrame(0x0, '', false), clientFrame(0x0, '', true)]))
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x1)
    t.equal(echo.payload.length, 0)
    t.equal(echo.header.length, 2)
  })

  t.test('a binary message in 100 fragments is echoed as one message', async t => {
    const client = await RawClient.open(port, t)
    const data = randomBytes(1000)
    const frames: Buffer[] = []
    for (let i = 0; i < 100; i++) {
      frames.push(clientFrame(i === 0 ? 0x2 : 0x0, data.subarray(i * 10, i * 10 + 10), i === 99))
    }
    client.write(Buffer.concat(frames))
    const echo = await client.readFrame()
    t.equal(echo.opcode, 0x2)
    t.equal(echo.fin, true)
    t.ok(echo.payload.equals(data), 'the 1000 bytes in order')
    t.ok(await client.quietFor(30), 'one echo, nothing more')
  })

  t.test('fragments sent in separate writes, one byte each, are reassembled', async t => {
    const client = await RawClient.open(port, t)
    const bytes = Buffer.concat([clientFrame(0x1, 'one ', false), clientFrame(0x9, ''), clientFrame(0x0, 'two ', false), clientFrame(0x0, 'three', true)])
    await client.writeInPieces(bytes, 1)
    const pong = await client.readFrame()
    t.equal(pong.opcode, 0xa)
    t.equal(pong.payload.length, 0)
    t.equal((await client.readFrame()).payload.toString(), 'one two three')
  })

  t.test('two fragmented messages back to back are echoed separately', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([
      clientFrame(0x1, 'first ', false), clientFrame(0x0, 'message', true),
      clientFrame(0x2, Buffer.from([9]), false), clientFrame(0x0, Buffer.from([8]), true)
    ]))
    const a = await client.readFrame()
    const b = await client.readFrame()
    t.equal(a.opcode, 0x1)
    t.equal(a.payload.toString(), 'first message')
    t.equal(b.opcode, 0x2)
    t.same(b.payload, Buffer.from([9, 8]))
  })
})
