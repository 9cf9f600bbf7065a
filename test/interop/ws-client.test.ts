// Interop with the `ws` client over 127.0.0.1: text and binary at every length-encoding
// boundary, subprotocols, close codes and reasons both ways, pings both ways.
import t from 'tap'
import WS from 'ws'
import {
  startInteropServer, openWs, messages, closed, waitEvent, waitFor,
  textOfBytes, binaryOfBytes, INTEROP_SIZES
} from '../helpers/app'

t.test('text and binary messages at every length boundary are echoed intact', async t => {
  const server = await startInteropServer(t)
  const client = await openWs(server.ws('/echo'))
  for (const n of INTEROP_SIZES) {
    const text = textOfBytes(n)
    t.equal(Buffer.byteLength(text), n)
    client.send(text)
    const [gotText] = await messages(client, 1)
    t.equal(typeof gotText, 'string', `${n} bytes of text come back as text`)
    t.ok(gotText === text, `${n} bytes of text intact`)
    const bin = binaryOfBytes(n)
    client.send(bin)
    const [gotBin] = await messages(client, 1)
    t.ok(Buffer.isBuffer(gotBin), `${n} bytes of binary come back as binary`)
    t.ok(bin.equals(gotBin as Buffer), `${n} bytes of binary intact`)
  }
  client.close()
})

t.test('many messages of mixed sizes sent at once arrive intact and in order', async t => {
  const server = await startInteropServer(t)
  const client = await openWs(server.ws('/echo'))
  const sent: Array<string | Buffer> = []
  for (const n of INTEROP_SIZES) sent.push(textOfBytes(n), binaryOfBytes(n))
  for (const m of sent) client.send(m)
  const got = await messages(client, sent.length)
  t.same(got, sent)
  client.close()
})

t.test('the subprotocol the server prefers among those ws offers is selected', async t => {
  const server = await startInteropServer(t)
  const client = new WS(server.ws('/proto'), ['chat.v1', 'chat.v2'])
  const [msg] = await messages(client, 1)
  t.equal(client.protocol, 'chat.v2')
  t.equal(msg, 'protocol:chat.v2')
  client.close()
})

t.test('close codes and reasons travel both ways', async t => {
  const server = await startInteropServer(t)
  const a = await openWs(server.ws('/echo'))
  const aClosed = closed(a)
  a.close(4000, 'bye')
  // RFC 6455 section 5.5.1: the answer echoes the status code (the reason is not echoed)
  t.equal((await aClosed).code, 4000, 'the server echoes the client\'s code')
  await waitFor(() => server.serverCloses.length === 1, 2000)
  t.same(server.serverCloses, [{ code: 4000, reason: 'bye' }], 'the server handler saw 4000 and "bye"')

  const b = await openWs(server.ws('/close'))
  const bClosed = closed(b)
  b.send('later')
  t.same(await bClosed, { code: 4001, reason: 'later' })
})

t.test('pings both ways: the server measures a round trip, the client gets its pong', async t => {
  const server = await startInteropServer(t)
  const client = new WS(server.ws('/ping'))
  const pinged = waitEvent<[Buffer]>(client, 'ping')
  const [msg] = await messages(client, 1)
  t.equal((await pinged)[0].toString(), 'are you there', 'ws saw the server\'s ping payload')
  t.match(msg, /^rtt:\d+(\.\d+)?$/)
  t.ok(Number((msg as string).slice(4)) >= 0)

  const pong = waitEvent<[Buffer]>(client, 'pong')
  client.ping(Buffer.from('hello server'))
  t.equal((await pong)[0].toString(), 'hello server', 'the pong echoes the ping payload')
  client.close()
})
