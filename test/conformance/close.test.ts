// RFC 6455 sections 5.5.1, 7.1 and 7.4: the closing handshake. The server echoes a valid close
// code, then closes TCP first; invalid codes and malformed close payloads fail with 1002; nothing
// after a close frame is processed; fastify.close() closes with 1001 and waits for the client.
import t from 'tap'
import { RawClient, clientFrame, within } from '../helpers/raw-client'
import { closePayload } from '../helpers/frames'
import { startServer, assertServerClosed } from './fixture'

t.test('closing handshake', async t => {
  const { port } = await startServer(t)

  t.test('a client close 1000 with a reason is echoed with 1000 and the server closes TCP first', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, closePayload(1000, 'done here')))
    const close = await client.readClose()
    t.equal(close.code, 1000)
    t.equal(close.frame.masked, false)
    t.ok(close.frame.payload.length <= 125)
    await client.waitServerEnd()
    t.same(client.events.slice(0, 1), ['server-fin'], 'the server sent its FIN before the client ended anything')
    t.equal(client.closedFirstBy, 'server')
    t.equal(client.unread.length, 0, 'nothing after the close frame')
    client.end()
    await client.waitClosed()
  })

  t.test('a close frame with no payload is answered with a close frame with no payload', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, ''))
    const close = await client.readClose()
    t.equal(close.code, null, 'no code: 1005 is never sent on the wire')
    t.equal(close.frame.payload.length, 0)
    await client.waitServerEnd()
    t.equal(client.closedFirstBy, 'server')
  })

  t.test('a close frame with a 1-byte payload is answered with close 1002', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, Buffer.from([0x03])))
    await assertServerClosed(t, client, 1002)
  })

  // RFC 6455 section 7.4: 1004-1006 and 1015 are reserved or never sent, 1016-2999 unassigned,
  // and nothing outside 1000-4999 is a close code
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    t.test(`close code ${code} is answered with close 1002`, async t => {
      const client = await RawClient.open(port, t)
      client.write(clientFrame(0x8, closePayload(code)))
      await assertServerClosed(t, client, 1002)
    })
  }

  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    t.test(`close code ${code} is echoed`, async t => {
      const client = await RawClient.open(port, t)
      client.write(clientFrame(0x8, closePayload(code, 'why')))
      await assertServerClosed(t, client, code)
    })
  }

  t.test('data frames after the client close frame are ignored', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([
      clientFrame(0x1, 'before'),
      clientFrame(0x8, closePayload(1000)),
      clientFrame(0x1, 'after'),
      clientFrame(0x9, 'ping after'),
      clientFrame(0x2, Buffer.from([1, 2]))
    ]))
    t.equal((await client.readFrame()).payload.toString(), 'before', 'the message before the close is echoed')
    await assertServerClosed(t, client, 1000)
    t.equal(client.unread.length, 0, 'no echo and no pong for frames after the close')
  })

  t.test('data frames sent after the close, in a later write, are ignored too', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, closePayload(1001)))
    const close = await client.readClose()
    t.equal(close.code, 1001)
    client.write(clientFrame(0x1, 'late'))
    await client.waitServerEnd()
    t.equal(client.unread.length, 0, 'nothing echoed')
  })

  t.test('a close frame in the middle of a fragmented message is echoed and the message dropped', async t => {
    const client = await RawClient.open(port, t)
    client.write(Buffer.concat([clientFrame(0x1, 'never ', false), clientFrame(0x8, closePayload(1000)), clientFrame(0x0, 'finished', true)]))
    await assertServerClosed(t, client, 1000)
    t.equal(client.unread.length, 0, 'the unfinished message is not echoed')
  })

  t.test('a close frame followed at once by the client FIN is still answered with a close frame', async t => {
    const client = await RawClient.open(port, t)
    client.write(clientFrame(0x8, closePayload(1000)))
    client.end()
    const close = await client.readClose()
    t.equal(close.code, 1000)
    await client.waitClosed()
  })

  t.test('a client that closes TCP without a close frame gets its FIN answered', async t => {
    const client = await RawClient.open(port, t)
    client.end()
    await client.waitClosed()
    t.equal(client.closedFirstBy, 'client')
    t.equal(client.unread.length, 0, 'no close frame on a connection closed without one')
  })

  t.test('fastify.close() sends 1001, waits for the client close frame, then closes TCP', async t => {
    const own = await startServer(t, { closeTimeout: 4000 })
    const client = await RawClient.open(own.port, t)
    client.write(clientFrame(0x1, 'hello'))
    t.equal((await client.readFrame()).payload.toString(), 'hello')
    let closed = false
    const closing = own.app.close().then(() => { closed = true })
    const close = await client.readClose()
    t.equal(close.code, 1001, 'Going Away')
    // RFC 6455 section 5.5.1: after its close frame the server sends no more frames, pongs included
    client.write(Buffer.concat([clientFrame(0x9, 'still there?'), clientFrame(0x1, 'late message')]))
    t.ok(await client.quietFor(300), 'no pong, no echo: the server waits for the client close frame, TCP still open')
    t.equal(closed, false, 'fastify.close() has not resolved yet')
    const late = await RawClient.request(own.port, t, {})
    t.equal(late.head.statusCode, 503, 'an upgrade while shutting down is refused with 503')
    client.write(clientFrame(0x8, closePayload(1001)))
    await client.waitServerEnd()
    t.equal(client.closedFirstBy, 'server', 'the server closes TCP once the handshake is complete')
    client.end()
    await within(closing, 3000, 'fastify.close()')
    t.equal(closed, true, 'fastify.close() resolves after the closing handshake')
  })

  t.test('fastify.close() terminates a client that never answers after closeTimeout', async t => {
    const own = await startServer(t, { closeTimeout: 300 })
    const client = await RawClient.open(own.port, t)
    const started = Date.now()
    const closing = own.app.close()
    t.equal((await client.readClose()).code, 1001)
    await client.waitFor('the connection to end', () => (client.serverEnded || client.closed) || undefined, 3000)
    await within(closing, 3000, 'fastify.close()')
    // the client never answers: the server waited closeTimeout for it before terminating
    // (within() above is what bounds the wait)
    t.ok(Date.now() - started >= 290, 'terminated after closeTimeout, not at once')
  })
})
