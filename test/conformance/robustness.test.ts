// A hostile or broken peer must not crash the server nor affect other connections: resets in the
// middle of a frame or of a handshake, and many clients sending garbage at once.
import t from 'tap'
import { RawClient, clientFrame, handshakeRequest, within } from '../helpers/raw-client'
import { startServer } from './fixture'

/** Deterministic pseudo-random bytes (mulberry32), so that a failure reproduces. */
function garbage (seed: number, length: number): Buffer {
  let state = seed >>> 0
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    out[i] = ((z ^ (z >>> 14)) >>> 0) & 0xff
  }
  return out
}

t.test('robustness', async t => {
  const { app, port } = await startServer(t)

  async function assertEchoes (tt: typeof t, text: string): Promise<void> {
    const client = await RawClient.open(port, tt)
    client.write(clientFrame(0x1, text))
    tt.equal((await client.readFrame()).payload.toString(), text, 'a new client still gets its echo')
  }

  async function waitNoClients (tt: typeof t): Promise<void> {
    const deadline = Date.now() + 3000
    while (app.websocketClients.size > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    tt.equal(app.websocketClients.size, 0, 'every socket the server opened is gone')
  }

  t.test('a client that resets TCP in the middle of a frame does not disturb the server', async t => {
    const client = await RawClient.open(port, t)
    const whole = clientFrame(0x2, Buffer.alloc(10_000, 7))
    await client.writeInPieces(whole.subarray(0, 5000), 5000)
    client.socket.resetAndDestroy()
    await client.waitClosed()
    await waitNoClients(t)
    await assertEchoes(t, 'still alive after a reset')
  })

  t.test('a client that resets TCP in the middle of a handshake does not disturb the server', async t => {
    const client = await RawClient.connect(port, t)
    await client.writeInPieces(Buffer.from(handshakeRequest({}).slice(0, 40)), 40)
    client.socket.resetAndDestroy()
    await client.waitClosed()
    await assertEchoes(t, 'still alive after a reset handshake')
  })

  t.test('a client that resets TCP right after its close frame does not disturb the server', async t => {
    const client = await RawClient.open(port, t)
    await client.writeInPieces(clientFrame(0x8, Buffer.from([0x03, 0xe8])), 64)
    client.socket.resetAndDestroy()
    await client.waitClosed()
    await waitNoClients(t)
    await assertEchoes(t, 'still alive after a reset close')
  })

  t.test('a client that resets TCP while an async hook is still running is never upgraded', async t => {
    let hookDone: () => void = () => {}
    const hookFinished = new Promise<void>(resolve => { hookDone = resolve })
    const own = await startServer(t, {}, app => app.get('/slow', {
      preHandler: async () => {
        await new Promise(resolve => setTimeout(resolve, 150))
        hookDone()
      },
      websocket: { open () { t.fail('a reset connection must not be opened') } }
    }))
    const client = await RawClient.connect(own.port, t)
    client.write(handshakeRequest({ path: '/slow' }))
    await new Promise(resolve => setTimeout(resolve, 30))
    client.socket.resetAndDestroy()
    await within(hookFinished, 3000, 'the slow hook')
    await new Promise(resolve => setTimeout(resolve, 50))
    t.equal(own.app.websocketClients.size, 0, 'no socket was opened')
    const next = await RawClient.open(own.port, t)
    next.write(clientFrame(0x1, 'fine'))
    t.equal((await next.readFrame()).payload.toString(), 'fine')
  })

  t.test('a client that stops reading while the server echoes a large message can be reset safely', async t => {
    const client = await RawClient.open(port, t)
    client.socket.pause()
    const big = Buffer.alloc(1 << 20, 1)
    for (let i = 0; i < 8; i++) client.write(clientFrame(0x2, big))
    await new Promise(resolve => setTimeout(resolve, 100))
    client.socket.resetAndDestroy()
    await waitNoClients(t)
    await assertEchoes(t, 'still alive after a reset under backpressure')
  })

  t.test('a client that does not read its echoes stops being read once maxBackpressure is exceeded, and gets every echo when it reads', async t => {
    const own = await startServer(t, { maxBackpressure: 256 * 1024 })
    const client = await RawClient.open(own.port, t)
    client.socket.pause()
    const message = clientFrame(0x2, Buffer.alloc(64 * 1024, 3))
    const COUNT = 400 // 25 MiB
    // far more than the kernel buffers plus the 256 KiB the server may queue: the server must stop
    // reading (TCP backpressure) rather than queue 10 MiB of echoes
    let accepted = 0
    for (let i = 0; i < COUNT; i++) if (client.write(message)) accepted++
    await new Promise(resolve => setTimeout(resolve, 300))
    t.ok(client.socket.writableLength > 0, `the server stopped reading: ${client.socket.writableLength} bytes wait in the client (${accepted} writes accepted at once)`)
    client.socket.resume()
    const frames = []
    for (let i = 0; i < COUNT; i++) frames.push(await client.readFrame(20000))
    t.equal(frames.length, COUNT, 'every echo arrived')
    t.ok(frames.every(f => f.opcode === 0x2 && f.payload.length === 64 * 1024 && f.payload[0] === 3), 'each one whole')
    client.end()
  })

  t.test('50 clients sending garbage at once are all dropped and a normal client still echoes', async t => {
    const clients = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      // even: garbage instead of an HTTP request; odd: garbage after a valid handshake
      const client = i % 2 === 0 ? await RawClient.connect(port, t) : await RawClient.open(port, t)
      client.write(garbage(i + 1, 64 + i * 37))
      client.end()
      return client
    }))
    await Promise.all(clients.map(c => c.waitClosed(5000)))
    t.equal(clients.filter(c => c.closed).length, 50, 'every garbage connection was closed')
    for (const [i, c] of clients.entries()) {
      if (i % 2 === 0) t.notMatch(c.unread.toString('latin1'), /^HTTP\/1\.1 101/, `garbage request ${i} was never upgraded`)
    }
    await waitNoClients(t)
    await assertEchoes(t, 'still alive after 50 garbage clients')
  })

  t.test('garbage sent without closing TCP is still answered or dropped, never crashes', async t => {
    const clients = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const client = await RawClient.open(port, t)
      // an unmasked first frame: whatever follows, the server must fail the connection
      const junk = garbage(1000 + i, 200)
      junk[0] = 0x81
      junk[1] = junk[1] & 0x7f
      client.write(junk)
      return client
    }))
    for (const client of clients) {
      const close = await client.readClose()
      t.equal(close.code, 1002)
    }
    await Promise.all(clients.map(c => c.waitServerEnd()))
    await assertEchoes(t, 'still alive after unmasked garbage')
  })
})
