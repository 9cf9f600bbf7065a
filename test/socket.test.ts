// The public WebSocket over a real TCP connection on 127.0.0.1, with no handshake: a server
// socket on one end and a client socket on the other, each with its own context, so that what
// one sends is what the other reads off the wire.
import t, { type Test } from 'tap'
import type { Socket } from 'node:net'
import { WebSocket, type SocketContext, type Logger } from '../lib/socket'
import { sessionOf } from '../lib/session'
import type { ConnectionOptions } from '../lib/engine/connection'
import type { WebSocketError } from '../lib/errors'
import { frame } from './helpers/frames'
import { waitEvent, waitFor, sleep, tcpPair } from './helpers/app'

interface Recorder extends SocketContext {
  handlerErrors: unknown[]
  protocolErrors: WebSocketError[]
  closedCodes: number[]
}

function context (overrides: Partial<SocketContext> = {}): Recorder {
  const rec: Recorder = {
    handlers: null,
    handlerErrors: [],
    protocolErrors: [],
    closedCodes: [],
    onHandlerError (_socket, err) { rec.handlerErrors.push(err) },
    onProtocolError (_socket, err) { rec.protocolErrors.push(err) },
    onClosed (_socket, code) { rec.closedCodes.push(code) },
    maxBackpressure: 64 << 20,
    backpressurePolicy: 'close',
    registry: new Set(),
    ...overrides
  }
  return rec
}

interface Pair {
  server: WebSocket
  client: WebSocket
  serverTcp: Socket
  clientTcp: Socket
  serverCtx: Recorder
  clientCtx: Recorder
}

async function pair (t: Test, options: {
  serverCtx?: Recorder,
  clientCtx?: Recorder,
  server?: Partial<ConnectionOptions>,
  client?: Partial<ConnectionOptions>,
  log?: Logger | null,
  rawClient?: boolean,
  /** the server socket holds what it receives until released, as the plugin's does during open */
  serverHold?: boolean
} = {}): Promise<Pair> {
  const [serverTcp, clientTcp] = await tcpPair(t)
  const serverCtx = options.serverCtx ?? context()
  const clientCtx = options.clientCtx ?? context({ registry: null })
  const server = new WebSocket(serverTcp, { role: 'server', ...options.server }, serverCtx, 'proto', '', options.log ?? null,
    options.serverHold === true ? { hold: true } : undefined)
  const client = options.rawClient === true
    ? null as unknown as WebSocket
    : new WebSocket(clientTcp, { role: 'client', ...options.client }, clientCtx, 'proto', '', null)
  return { server, client, serverTcp, clientTcp, serverCtx, clientCtx }
}

function nextMessage (ws: WebSocket): Promise<[Buffer, boolean]> {
  return waitEvent<[Buffer, boolean]>(ws, 'message')
}

t.test('strings go as text and buffers as binary unless `binary` says otherwise; views keep their offset', async t => {
  const { server, client } = await pair(t)
  const got: Array<[string, boolean]> = []
  client.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString('hex'), isBinary]))
  const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
  server.send('héllo')
  server.send(Buffer.from([0xff, 0x00]))
  server.send('as binary', { binary: true })
  server.send(Buffer.from('as text'), { binary: false })
  server.send(new Uint8Array([4, 5]).buffer)
  server.send(backing.subarray(2, 5))
  server.send(new DataView(backing.buffer, 1, 2))
  await waitFor(() => got.length === 7, 2000)
  t.same(got, [
    [Buffer.from('héllo').toString('hex'), false],
    ['ff00', true],
    [Buffer.from('as binary').toString('hex'), true],
    [Buffer.from('as text').toString('hex'), false],
    ['0405', true],
    ['010203', true],
    ['0901', true]
  ])
  t.throws(() => server.send(42 as unknown as string), TypeError)
  t.equal(server.protocol, 'proto')
  t.equal(server.extensions, '')
})

t.test('everything sent in one event-loop turn leaves in one write, and callbacks run once flushed', async t => {
  const { server, client, serverTcp } = await pair(t)
  let writes = 0
  const tcp = serverTcp as unknown as { _write: (...a: unknown[]) => void, _writev: (...a: unknown[]) => void }
  const origWrite = tcp._write.bind(serverTcp)
  const origWritev = tcp._writev.bind(serverTcp)
  tcp._write = (...a) => { writes++; origWrite(...a) }
  tcp._writev = (...a) => { writes++; origWritev(...a) }
  const done: Array<Error | undefined> = []
  for (let i = 0; i < 20; i++) server.send(`message ${i}`, err => done.push(err))
  server.send(Buffer.alloc(100_000), err => done.push(err))
  t.ok(server.bufferedAmount > 100_000, 'queued bytes are counted before the flush')
  t.equal(done.length, 0, 'no callback before the flush')
  const got: string[] = []
  client.on('message', (d: Buffer) => got.push(d.length > 100 ? 'big' : d.toString()))
  await waitFor(() => got.length === 21, 2000)
  t.equal(writes, 1, 'one write for 21 messages')
  t.same(got, [...Array.from({ length: 20 }, (_, i) => `message ${i}`), 'big'])
  await waitFor(() => done.length === 21, 1000)
  t.same(done, Array(21).fill(undefined))
  t.equal(server.bufferedAmount, 0)
})

t.test('ping gets its pong and a round-trip time; pong sends an unsolicited pong; handlers see both', async t => {
  const serverSeen: string[] = []
  const serverCtx = context({
    handlers: {
      ping (_s, data) { serverSeen.push(`ping:${data.toString()}`) },
      pong (_s, data) { serverSeen.push(`pong:${data.toString()}`) }
    }
  })
  const { server, client } = await pair(t, { serverCtx })
  t.equal(server.latency, -1)
  const clientPing = waitEvent<[Buffer]>(client, 'ping')
  const rtt = await new Promise<number>((resolve, reject) => server.ping('abc', (err, ms) => err !== null ? reject(err) : resolve(ms!)))
  t.ok(Number.isFinite(rtt) && rtt >= 0, `a round-trip time: ${rtt} ms`)
  t.equal(server.latency, rtt, 'socket.latency is that round trip')
  t.equal((await clientPing)[0].toString(), 'abc', 'the peer saw the payload')

  // ws's signature: ping(data, mask, cb) with the callback second
  const rtt2 = await new Promise<number>((resolve, reject) => server.ping(undefined, (err, ms) => err !== null ? reject(err) : resolve(ms!)))
  t.ok(Number.isFinite(rtt2) && rtt2 >= 0, 'a ping without payload is matched too')
  t.equal(server.latency, rtt2, 'and socket.latency follows the latest round trip')

  const serverPing = waitEvent<[Buffer]>(server, 'ping')
  const pongBack = waitEvent<[Buffer]>(client, 'pong')
  client.ping(Buffer.from('from client'))
  t.equal((await serverPing)[0].toString(), 'from client')
  t.equal((await pongBack)[0].toString(), 'from client', 'auto-pong echoes the payload')
  const serverPong = waitEvent<[Buffer]>(server, 'pong')
  client.pong('unsolicited')
  t.equal((await serverPong)[0].toString(), 'unsolicited')
  t.same(serverSeen.filter(s => !s.startsWith('pong:\u0000')), ['pong:abc', 'ping:from client', 'pong:unsolicited'],
    'the handlers saw the pong to the server\'s own ping, the client\'s ping and the unsolicited pong')
  t.throws(() => server.ping(Buffer.alloc(126)), { code: 'WS_ERR_CONTROL_ARG_TOO_LONG' })
  t.throws(() => server.pong(Buffer.alloc(126)), { code: 'WS_ERR_CONTROL_ARG_TOO_LONG' })
})

t.test('close validates its arguments, completes the handshake on both sides and reports code and reason', async t => {
  const serverCloses: Array<[number, string]> = []
  const serverCtx = context({ handlers: { close (_s, code, reason) { serverCloses.push([code, reason.toString()]) } } })
  const { server, client, serverCtx: sctx } = await pair(t, { serverCtx })
  t.equal(sctx.registry!.size, 1, 'registered while open')
  for (const [code, reason] of [[1005, undefined], [999, undefined], [2000, undefined], [5000, undefined], [1000, 'x'.repeat(124)], [undefined, 'why']] as const) {
    t.throws(() => server.close(code, reason), { code: 'WS_ERR_INVALID_CLOSE_ARG' }, `close(${String(code)}, ${String(reason).slice(0, 10)})`)
  }
  t.equal(server.readyState, WebSocket.OPEN, 'an invalid close changes nothing')
  const clientClosed = waitEvent<[number, Buffer]>(client, 'close')
  const serverClosed = waitEvent<[number, Buffer]>(server, 'close')
  server.close(4321, Buffer.from('done here'))
  t.equal(server.readyState, WebSocket.CLOSING)
  server.close(1000) // a second close is ignored
  const [cCode, cReason] = await clientClosed
  t.equal(cCode, 4321)
  t.equal(cReason.toString(), 'done here')
  const [sCode] = await serverClosed
  t.equal(sCode, 4321, 'the server reports the code the client echoed')
  t.equal(server.readyState, WebSocket.CLOSED)
  t.equal(server.readyState, server.CLOSED)
  t.same([server.CONNECTING, server.OPEN, server.CLOSING], [0, 1, 2])
  t.same(serverCloses, [[4321, '']])
  t.same(sctx.closedCodes, [4321])
  t.equal(sctx.registry!.size, 0, 'removed from the registry')
})

t.test('after a client-initiated close the server closes TCP first (RFC 6455 section 7.1.1)', async t => {
  const { server, client, serverTcp, clientTcp } = await pair(t)
  const order: string[] = []
  clientTcp.on('end', () => order.push('client got FIN'))
  serverTcp.on('end', () => order.push('server got FIN'))
  const closedBoth = Promise.all([waitEvent(server, 'close'), waitEvent(client, 'close')])
  client.close(1000)
  await closedBoth
  t.same(order, ['client got FIN', 'server got FIN'])
})

t.test('terminate reports 1006 on both sides', async t => {
  const { server, client } = await pair(t)
  const both = Promise.all([waitEvent<[number]>(server, 'close'), waitEvent<[number]>(client, 'close')])
  server.terminate()
  const [[s], [c]] = await both
  t.equal(s, 1006)
  t.equal(c, 1006)
})

t.test('a transport reset is logged at debug and reported as close 1006, never thrown', async t => {
  const debug: unknown[] = []
  const log: Logger = { debug (o) { debug.push(o) }, info () {}, warn () {}, error () {} }
  const { server, clientTcp } = await pair(t, { log, rawClient: true })
  t.equal(server.log, log, 'a logger without child() is used as is')
  const closedEv = waitEvent<[number]>(server, 'close')
  clientTcp.resetAndDestroy()
  t.equal((await closedEv)[0], 1006)
  t.match(debug, [{ err: { code: 'ECONNRESET' } }], 'the reset was logged at debug level')
})

t.test('protocol errors reach onProtocolError and error listeners, and fail the connection with their code', async t => {
  const { server, clientTcp, serverCtx } = await pair(t, { rawClient: true })
  const errors: WebSocketError[] = []
  server.on('error', (err: WebSocketError) => errors.push(err))
  const received: Buffer[] = []
  clientTcp.on('data', (c: Buffer) => received.push(c))
  const closedEv = waitEvent<[number]>(server, 'close')
  clientTcp.write(frame({ opcode: 1, payload: 'not masked' }))
  await waitEvent(clientTcp, 'end')
  clientTcp.end()
  await closedEv
  t.match(errors, [{ code: 'WS_ERR_EXPECTED_MASK' }])
  t.match(serverCtx.protocolErrors, [{ code: 'WS_ERR_EXPECTED_MASK' }])
  const bytes = Buffer.concat(received)
  t.equal(bytes[0], 0x88, 'a close frame')
  t.equal(bytes.readUInt16BE(2), 1002)
})

t.test('without an error listener a protocol error is not thrown', async t => {
  const { server, clientTcp } = await pair(t, { rawClient: true })
  const closedEv = waitEvent<[number]>(server, 'close')
  clientTcp.write(frame({ opcode: 3, mask: true }))
  clientTcp.resume()
  await waitEvent(clientTcp, 'end')
  clientTcp.end()
  t.equal((await closedEv)[0], 1006, 'the client never sent a close frame')
})

t.test('handlers that throw or reject go to onHandlerError; message, close and drain handlers run', async t => {
  const seen: string[] = []
  const serverCtx = context({
    handlers: {
      message (_s, data) {
        const text = data.toString()
        seen.push(text)
        if (text === 'throw') throw new Error('sync')
        if (text === 'reject') return Promise.reject(new Error('async'))
      },
      drain () { seen.push('drain') },
      close () { throw new Error('in close') }
    }
  })
  const { server, client, serverCtx: ctx } = await pair(t, { serverCtx })
  server.on('message', (d: Buffer) => { if (d.toString() === 'listener') throw new Error('listener') })
  for (const m of ['throw', 'reject', 'listener', 'fine']) client.send(m)
  await waitFor(() => seen.length === 4 && ctx.handlerErrors.length === 3, 2000)
  t.same((ctx.handlerErrors as Error[]).map(e => e.message).sort(), ['async', 'listener', 'sync'])
  // a large send over the stream's high-water mark drains later
  server.send(Buffer.alloc(4 << 20))
  await waitFor(() => seen.includes('drain'), 3000, 'drain')
  client.close()
  await waitFor(() => ctx.handlerErrors.length === 4, 2000)
  t.equal((ctx.handlerErrors[3] as Error).message, 'in close')
})

t.test('send after close returns false and calls back with WS_ERR_NOT_OPEN; a send cut off by a destroyed stream calls back with WS_ERR_CONNECTION_CLOSED', async t => {
  const { server, client, serverTcp } = await pair(t)
  const cut = new Promise<Error | undefined>(resolve => server.send('doomed', resolve))
  serverTcp.destroy()
  t.match(await cut, { code: 'WS_ERR_CONNECTION_CLOSED' })
  await waitEvent(client, 'close')
  const late = new Promise<Error | undefined>(resolve => t.equal(server.send('late', resolve), false))
  t.match(await late, { code: 'WS_ERR_NOT_OPEN' })
  t.equal(server.send('no callback'), false)
  t.equal(sessionOf(server).sendFrame(Buffer.from([0x81, 0])), false)
  t.throws(() => server.ping(), { code: 'WS_ERR_NOT_OPEN' })
})

t.test('over maxBackpressure, drop refuses the send and close fails the socket with 1008', async t => {
  const drop = await pair(t, { serverCtx: context({ maxBackpressure: 1000, backpressurePolicy: 'drop' }) })
  t.ok(drop.server.send(Buffer.alloc(2000)), 'the first send is queued')
  t.equal(sessionOf(drop.server).sendFrame(Buffer.from([0x81, 0])), false, 'prebuilt frames are dropped too')
  const refused = new Promise<Error | undefined>(resolve => t.equal(drop.server.send('x', resolve), false))
  t.match(await refused, { code: 'WS_ERR_BACKPRESSURE' })
  t.equal(drop.server.readyState, WebSocket.OPEN)

  const close = await pair(t, { serverCtx: context({ maxBackpressure: 1000 }) })
  const clientClosed = waitEvent<[number]>(close.client, 'close')
  close.server.send(Buffer.alloc(2000))
  t.equal(close.server.send('x'), false)
  t.equal((await clientClosed)[0], 1008)
  t.match(close.serverCtx.protocolErrors, [{ code: 'WS_ERR_BACKPRESSURE' }])
})

t.test('held messages pause the stream past 1 MiB and are delivered in order on release', async t => {
  const { server, client, serverTcp } = await pair(t, { serverHold: true })
  const got: number[] = []
  server.on('message', (d: Buffer) => got.push(d.length))
  for (let i = 0; i < 10; i++) client.send(Buffer.alloc(200_000 + i))
  await waitFor(() => serverTcp.isPaused(), 3000, 'the stream paused')
  t.equal(got.length, 0, 'nothing delivered while held')
  sessionOf(server).release()
  await waitFor(() => got.length === 10, 3000)
  t.same(got, Array.from({ length: 10 }, (_, i) => 200_000 + i))
  t.notOk(serverTcp.isPaused(), 'resumed')
  sessionOf(server).release() // a second release is a no-op
  client.send('after')
  const [d] = await nextMessage(server)
  t.equal(d.toString(), 'after', 'delivered directly once released')
})

t.test('pub/sub needs the plugin; ids are unique; the log is a child bound to the socket id', async t => {
  const bindings: object[] = []
  const child: Logger = { debug () {}, info () {}, warn () {}, error () {} }
  const log: Logger = { debug () {}, info () {}, warn () {}, error () {}, child (b) { bindings.push(b); return child } }
  const a = await pair(t, { log })
  t.throws(() => a.server.subscribe('x'), { code: 'WS_ERR_NO_PUBSUB' })
  t.throws(() => a.server.unsubscribe('x'), { code: 'WS_ERR_NO_PUBSUB' })
  t.throws(() => a.server.publish('x', 'y'), { code: 'WS_ERR_NO_PUBSUB' })
  t.equal(a.server.topics.size, 0)
  t.equal(a.server.log, child)
  t.equal(a.server.log, child, 'the child is made once')
  t.same(bindings, [{ ws: a.server.id }])
  t.not(a.server.id, a.client.id)
  t.doesNotThrow(() => a.client.log.error({}, 'silent without a logger'))
  t.same([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3])
  await sleep(0)
})
