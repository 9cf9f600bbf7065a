// Interop with undici's WHATWG WebSocket over 127.0.0.1: text and binary at every
// length-encoding boundary, subprotocols, close codes and reasons both ways, and pings both
// ways (undici's `ping()` and its ping/pong diagnostics channels).
import t from 'tap'
import diagnostics from 'node:diagnostics_channel'
import { WebSocket, ping } from 'undici'
import { startInteropServer, waitFor, textOfBytes, binaryOfBytes, INTEROP_SIZES, WAIT_MS } from '../helpers/app'

interface Client {
  ws: WebSocket
  /** the next `n` messages: strings for text, Buffers for binary */
  next (n: number): Promise<Array<string | Buffer>>
  closed: Promise<{ code: number, reason: string, wasClean: boolean }>
}

function open (url: string, protocols?: string[]): Promise<Client> {
  const ws = new WebSocket(url, protocols)
  ws.binaryType = 'arraybuffer'
  const queue: Array<string | Buffer> = []
  let waiting: (() => void) | null = null
  ws.addEventListener('message', ev => {
    queue.push(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data as ArrayBuffer))
    waiting?.()
  })
  const closed = new Promise<{ code: number, reason: string, wasClean: boolean }>(resolve => {
    ws.addEventListener('close', ev => resolve({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean }))
  })
  const next = async (n: number): Promise<Array<string | Buffer>> => {
    const deadline = Date.now() + WAIT_MS
    while (queue.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${queue.length} of ${n} messages within ${WAIT_MS} ms`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, 50)
        waiting = () => { clearTimeout(timer); waiting = null; resolve() }
      })
    }
    return queue.splice(0, n)
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('undici did not open')), WAIT_MS)
    ws.addEventListener('open', () => { clearTimeout(timer); resolve({ ws, next, closed }) })
    ws.addEventListener('error', () => { clearTimeout(timer); reject(new Error('undici WebSocket error')) })
  })
}

t.test('text and binary messages at every length boundary are echoed intact', async t => {
  const server = await startInteropServer(t)
  const client = await open(server.ws('/echo'))
  for (const n of INTEROP_SIZES) {
    const text = textOfBytes(n)
    client.ws.send(text)
    const [gotText] = await client.next(1)
    t.equal(typeof gotText, 'string', `${n} bytes of text come back as text`)
    t.ok(gotText === text, `${n} bytes of text intact`)
    const bin = binaryOfBytes(n)
    client.ws.send(bin)
    const [gotBin] = await client.next(1)
    t.ok(Buffer.isBuffer(gotBin), `${n} bytes of binary come back as binary`)
    t.ok(bin.equals(gotBin as Buffer), `${n} bytes of binary intact`)
  }
  client.ws.close()
})

t.test('the subprotocol the server prefers among those undici offers is selected', async t => {
  const server = await startInteropServer(t)
  const client = await open(server.ws('/proto'), ['chat.v1', 'chat.v2'])
  t.equal(client.ws.protocol, 'chat.v2')
  t.same(await client.next(1), ['protocol:chat.v2'])
  client.ws.close()
})

t.test('close codes and reasons travel both ways', async t => {
  const server = await startInteropServer(t)
  const a = await open(server.ws('/echo'))
  a.ws.close(4000, 'bye')
  const aClosed = await a.closed
  t.equal(aClosed.code, 4000, 'the server echoes the client\'s code')
  t.ok(aClosed.wasClean)
  await waitFor(() => server.serverCloses.length === 1, 2000)
  t.same(server.serverCloses, [{ code: 4000, reason: 'bye' }], 'the server handler saw 4000 and "bye"')

  const b = await open(server.ws('/close'))
  b.ws.send('later')
  const bClosed = await b.closed
  t.same(bClosed, { code: 4001, reason: 'later', wasClean: true })
})

t.test('pings both ways: the server measures a round trip, undici\'s ping gets a pong', async t => {
  const pings: Array<{ payload: Buffer, websocket: unknown }> = []
  const pongs: Array<{ payload: Buffer, websocket: unknown }> = []
  const onPing = (m: unknown): void => { pings.push(m as { payload: Buffer, websocket: unknown }) }
  const onPong = (m: unknown): void => { pongs.push(m as { payload: Buffer, websocket: unknown }) }
  diagnostics.subscribe('undici:websocket:ping', onPing)
  diagnostics.subscribe('undici:websocket:pong', onPong)
  t.teardown(() => {
    diagnostics.unsubscribe('undici:websocket:ping', onPing)
    diagnostics.unsubscribe('undici:websocket:pong', onPong)
  })
  const server = await startInteropServer(t)
  const client = await open(server.ws('/ping'))
  const [msg] = await client.next(1)
  t.match(msg, /^rtt:\d+(\.\d+)?$/, 'undici answered the server\'s ping')
  t.ok(pings.some(p => p.websocket === client.ws && Buffer.from(p.payload).toString() === 'are you there'))

  ping(client.ws, Buffer.from('hello server'))
  await waitFor(() => pongs.some(p => p.websocket === client.ws), 2000, 'a pong')
  const pong = pongs.find(p => p.websocket === client.ws)!
  t.equal(Buffer.from(pong.payload).toString(), 'hello server', 'the pong echoes the ping payload')
  client.ws.close()
})
