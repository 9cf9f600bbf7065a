// connect() against real servers on 127.0.0.1: our plugin, the ws package, and raw net servers
// that answer with crafted bytes.
import t, { type Test } from 'tap'
import { createServer, type Server, type Socket, type AddressInfo } from 'node:net'
import { once } from 'node:events'
import Fastify from 'fastify'
import { WebSocketServer } from 'ws'
import websocket from '../../lib/index'
import { connect } from '../../lib/client/connect'
import { computeAccept } from '../../lib/handshake/accept'
import { DEFAULT_CLOSE_TIMEOUT } from '../../lib/engine/constants'
import type { WebSocket } from '../../lib/socket'
import type { HandshakeRefusal } from '../../lib/client/refusal'
import { decodeFrames, frame } from '../helpers/frames'

interface ServerLog { headers: Record<string, string | string[] | undefined>[], closes: Array<[number, string]> }

async function pluginServer (t: Test): Promise<{ url: string, log: ServerLog }> {
  const log: ServerLog = { headers: [], closes: [] }
  const app = Fastify()
  await app.register(websocket)
  app.get('/echo', { websocket: true }, (socket, req) => {
    log.headers.push(req.headers)
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
    socket.on('close', (code, reason) => log.closes.push([code, reason.toString()]))
  })
  app.route({
    method: 'GET',
    url: '/chat',
    websocket: { protocols: ['chat.v2', 'chat.v1'], open (socket) { socket.send(`protocol ${socket.protocol}`) } }
  })
  app.route({
    method: 'GET',
    url: '/private',
    preHandler: async (_req, reply) => reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' }),
    websocket: { open () {} }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`, log }
}

/** A TCP server that reads one request head and lets `answer` write whatever it likes. */
async function rawServer (t: Test, answer: (socket: Socket, key: string, head: string) => void): Promise<{ url: string, server: Server }> {
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let buffered = ''
    socket.on('error', () => {})
    socket.on('data', function onData (chunk) {
      buffered += chunk.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.removeListener('data', onData)
      const key = /sec-websocket-key: *(\S+)/i.exec(buffered)?.[1] ?? ''
      answer(socket, key, buffered.slice(0, end))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.close()
    for (const s of sockets) s.destroy()
  })
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

function accept101 (key: string, extra = ''): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n${extra}\r\n`
}

/** The next message; rejects if the socket closes first or nothing comes within 5 s. */
function nextMessage (ws: WebSocket): Promise<[Buffer, boolean]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('no message within 5 s')), 5000)
    const onMessage = (data: Buffer, isBinary: boolean): void => { done(null); resolve([data, isBinary]) }
    const onClose = (code: number): void => done(new Error(`closed with ${code} before a message came`))
    function done (err: Error | null): void {
      clearTimeout(timer)
      ws.removeListener('message', onMessage)
      ws.removeListener('close', onClose)
      if (err !== null) reject(err)
    }
    ws.on('message', onMessage)
    ws.on('close', onClose)
  })
}

/** The 'close' event (events.once would also settle on 'error', which failing sockets emit first), within 5 s. */
function closed (ws: WebSocket): Promise<[number, Buffer]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not closed within 5 s')), 5000)
    ws.once('close', (code: number, reason: Buffer) => { clearTimeout(timer); resolve([code, reason]) })
  })
}

async function until (check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function rejection (p: Promise<unknown>): Promise<Error & { code?: string, statusCode?: number }> {
  try {
    await p
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

t.test('text and binary messages of every length encoding echo through our plugin', async t => {
  const { url } = await pluginServer(t)
  const ws = await connect(`${url}/echo`)
  t.equal(ws.readyState, ws.OPEN)
  t.equal(ws.protocol, '')
  t.equal(ws.extensions, '')
  for (const size of [0, 1, 125, 126, 65535, 65536, 1 << 20]) {
    const text = 'é'.repeat(size >> 1) + 'x'.repeat(size & 1)
    ws.send(text)
    const [data, isBinary] = await nextMessage(ws)
    t.equal(isBinary, false, `text of ${size} bytes comes back as text`)
    t.ok(data.equals(Buffer.from(text)), `text of ${size} bytes intact`)
    const bytes = Buffer.alloc(size, size % 251)
    ws.send(bytes)
    const [back, bin] = await nextMessage(ws)
    t.equal(bin, true)
    t.ok(back.equals(bytes), `binary of ${size} bytes intact`)
  }
  ws.close()
  await closed(ws)
})

t.test('the ws package accepts our masked frames and its replies reach us', async t => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (set) => set.has('b') ? 'b' : false })
  await once(wss, 'listening')
  t.teardown(() => new Promise<void>(resolve => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  wss.on('connection', peer => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })))
  const ws = await connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/any?x=1`, { protocols: ['a', 'b'] })
  t.equal(ws.protocol, 'b')
  for (const size of [3, 300, 70_000]) {
    ws.send(Buffer.alloc(size, 7))
    const [data] = await nextMessage(ws)
    t.equal(data.length, size)
    ws.send('t'.repeat(size))
    const [text, isBinary] = await nextMessage(ws)
    t.equal(text.toString(), 't'.repeat(size))
    t.equal(isBinary, false)
  }
  ws.close(4001, 'done')
  const [code, reason] = await closed(ws)
  t.equal(code, 4001)
  t.equal(reason.toString(), 'done')
})

t.test('frames sent by the client are masked on the wire, each with its own nonzero key (RFC 6455 section 5.3)', async t => {
  const COUNT = 200
  const wire: Buffer[] = []
  let seen = 0
  const { url } = await rawServer(t, (socket, key) => {
    socket.write(accept101(key))
    socket.on('data', chunk => {
      wire.push(chunk)
      seen += chunk.length
      // each frame: 2 header bytes, 4 of key, 5 of payload
      if (seen >= COUNT * (2 + 4 + 5)) socket.end()
    })
  })
  const ws = await connect(url)
  for (let i = 0; i < COUNT; i++) ws.send('hello')
  await closed(ws)
  const frames = decodeFrames(Buffer.concat(wire)).slice(0, COUNT)
  t.equal(frames.length, COUNT)
  t.ok(frames.every(f => f.masked && f.opcode === 1 && f.payload.toString() === 'hello'), 'every frame is a masked "hello"')
  // section 5.3: a fresh, unpredictable key per frame; a constant key (zeros or not) fails here,
  // and 200 random 32-bit keys repeat about once in 200,000 runs
  const keys = frames.map(f => f.key?.toString('hex'))
  t.notOk(keys.includes('00000000'), 'no all-zero key')
  t.equal(new Set(keys).size, COUNT, `${COUNT} frames, ${new Set(keys).size} distinct keys`)
})

t.test('the server selects one of the offered subprotocols', async t => {
  const { url } = await pluginServer(t)
  const ws = await connect(`${url}/chat`, { protocols: ['chat.v1', 'chat.v2'] })
  t.equal(ws.protocol, 'chat.v2')
  const [data] = await nextMessage(ws)
  t.equal(data.toString(), 'protocol chat.v2')
  ws.close()
  const single = await connect(`${url}/chat`, { protocols: 'chat.v1' })
  t.equal(single.protocol, 'chat.v1')
  single.close()
  await closed(single)
})

t.test('custom headers, origin, Host and URL credentials reach the server; handshake headers cannot be overridden', async t => {
  const { url, log } = await pluginServer(t)
  const port = new URL(url).port
  const ws = await connect(`ws://user:p%40ss@127.0.0.1:${port}/echo`, {
    headers: { 'X-Trace': 'abc', Cookie: ['a=1', 'b=2'], 'Sec-WebSocket-Version': '8', 'X-None': undefined },
    origin: 'https://app.example'
  })
  ws.close()
  await closed(ws)
  const h = log.headers[0]
  t.equal(h['x-trace'], 'abc')
  t.equal(h.cookie, 'a=1; b=2')
  t.equal(h.origin, 'https://app.example')
  t.equal(h.host, `127.0.0.1:${port}`)
  t.equal(h['sec-websocket-version'], '13')
  t.equal(h.authorization, 'Basic ' + Buffer.from('user:p@ss').toString('base64'))
  t.notOk('x-none' in h)
  t.notOk('sec-websocket-extensions' in h, 'no extension is offered')
})

t.test('a refusal rejects with WS_ERR_CLIENT_HANDSHAKE, its status and its headers', async t => {
  const { url } = await pluginServer(t)
  const err = await rejection(connect(`${url}/private`)) as HandshakeRefusal
  t.equal(err.code, 'WS_ERR_CLIENT_HANDSHAKE')
  t.equal(err.statusCode, 401)
  t.equal(err.headers['www-authenticate'], 'Bearer')
  t.match(err.message, /HTTP 401/)
  const missing = await rejection(connect(`${url}/nowhere`)) as HandshakeRefusal
  t.equal(missing.statusCode, 404)
})

t.test('a wrong Sec-WebSocket-Accept fails the connection (RFC 6455 section 4.1)', async t => {
  const { url } = await rawServer(t, (socket) => {
    socket.write(accept101('dGhlIHNhbXBsZSBub25jZQ=='))
  })
  const err = await rejection(connect(url))
  t.equal(err.code, 'WS_ERR_CLIENT_HANDSHAKE')
  t.match(err.message, /Sec-WebSocket-Accept/)
})

t.test('a subprotocol or an extension the client did not offer fails the connection', async t => {
  const { url: protoUrl } = await rawServer(t, (socket, key) => socket.write(accept101(key, 'Sec-WebSocket-Protocol: other\r\n')))
  const proto = await rejection(connect(protoUrl, { protocols: ['mine'] }))
  t.equal(proto.code, 'WS_ERR_CLIENT_HANDSHAKE')
  t.match(proto.message, /not offered/)
  const { url: extUrl } = await rawServer(t, (socket, key) => socket.write(accept101(key, 'Sec-WebSocket-Extensions: permessage-deflate\r\n')))
  const ext = await rejection(connect(extUrl))
  t.equal(ext.code, 'WS_ERR_CLIENT_EXTENSION')
})

t.test('a 101 without Upgrade: websocket is refused with the rule it broke', async t => {
  const { url } = await rawServer(t, (socket, key) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`)
  })
  const err = await rejection(connect(url))
  t.equal(err.code, 'WS_ERR_CLIENT_HANDSHAKE')
  t.match(err.message, /Upgrade header missing/)
})

t.test('a server that never answers is given up after handshakeTimeout, and its socket is closed', async t => {
  let serverSide: Socket | null = null
  const { url } = await rawServer(t, (socket) => { serverSide = socket })
  const started = Date.now()
  const err = await rejection(connect(url, { handshakeTimeout: 200 }))
  const elapsed = Date.now() - started
  t.equal(err.code, 'WS_ERR_CLIENT_TIMEOUT')
  // the deadline given, not the default 10 s (named in the error: no wall-clock upper bound on a
  // shared machine), and not before it (timers fire no earlier than asked, give or take 1 ms)
  t.match(err.message, /not open after 200 ms/)
  t.ok(elapsed >= 190, `gave up after ${elapsed} ms`)
  t.ok(serverSide !== null)
  await once(serverSide as unknown as Socket, 'close')
  t.pass('the server saw the connection closed')
})

t.test('frames sent in the same TCP write as the 101 reach listeners attached after connect resolves', async t => {
  const { url } = await rawServer(t, (socket, key) => {
    socket.write(Buffer.concat([
      Buffer.from(accept101(key), 'latin1'),
      frame({ opcode: 1, payload: 'first' }),
      frame({ opcode: 2, payload: Buffer.from([1, 2, 3]) })
    ]))
  })
  const ws = await connect(url)
  const got: Array<[string, boolean]> = []
  ws.on('message', (data, isBinary) => got.push([data.toString('hex'), isBinary]))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(got, [[Buffer.from('first').toString('hex'), false], ['010203', true]])
  ws.terminate()
})

t.test('the client closing handshake: the server sees code and reason, the client waits for the server to close TCP', async t => {
  const { url, log } = await pluginServer(t)
  const ws = await connect(`${url}/echo`)
  ws.close(4321, 'client bye')
  const [code] = await closed(ws)
  t.equal(code, 4321, 'the server echoed the code')
  await until(() => log.closes.length > 0)
  t.same(log.closes, [[4321, 'client bye']])

  // a raw server that answers the close frame but keeps TCP open for 300 ms
  const events: string[] = []
  const { url: rawUrl } = await rawServer(t, (socket, key) => {
    socket.write(accept101(key))
    socket.on('data', chunk => {
      const [f] = decodeFrames(chunk)
      if (f?.opcode !== 8) return
      events.push(`server got close ${f.payload.readUInt16BE(0)}`)
      socket.write(frame({ opcode: 8, payload: f.payload }))
      setTimeout(() => { events.push('server closes TCP'); socket.end() }, 300)
    })
    socket.on('end', () => events.push('server saw client FIN'))
  })
  const raw = await connect(rawUrl)
  raw.close(1000)
  await closed(raw)
  events.push('client close event')
  t.same(events.slice(0, 3), ['server got close 1000', 'server closes TCP', 'client close event'])
})

t.test('a client close that the server never answers ends after closeTimeout', async t => {
  const { url } = await rawServer(t, (socket, key) => socket.write(accept101(key)))
  const ws = await connect(url, { closeTimeout: 200 })
  const started = Date.now()
  ws.close(1000)
  const [code] = await closed(ws)
  const elapsed = Date.now() - started
  t.equal(code, 1006)
  // it waited for closeTimeout, and it was the 200 ms given, not the default 5 s (a 25x margin:
  // this bound tells the two settings apart, it does not measure speed)
  t.ok(elapsed >= 190 && elapsed < DEFAULT_CLOSE_TIMEOUT, `closed after ${elapsed} ms`)
})

t.test('a message over maxPayload fails the connection: the server gets a 1009 close frame, the client an error', async t => {
  let closeCode = 0
  const { url } = await rawServer(t, (socket, key) => {
    socket.write(Buffer.concat([Buffer.from(accept101(key), 'latin1'), frame({ opcode: 2, payload: Buffer.alloc(2000) })]))
    socket.on('data', chunk => {
      const [f] = decodeFrames(chunk)
      if (f?.opcode === 8) closeCode = f.payload.readUInt16BE(0)
    })
  })
  const ws = await connect(url, { maxPayload: 1000 })
  const errors: string[] = []
  ws.on('error', (err: Error & { code: string }) => errors.push(err.code))
  await closed(ws)
  await until(() => closeCode !== 0)
  t.equal(closeCode, 1009)
  t.same(errors, ['WS_ERR_MESSAGE_TOO_BIG'])
})

t.test('pings are answered automatically unless autoPong is false', async t => {
  const pongs: string[] = []
  const { url } = await rawServer(t, (socket, key) => {
    socket.write(Buffer.concat([Buffer.from(accept101(key), 'latin1'), frame({ opcode: 9, payload: 'p' })]))
    socket.on('data', chunk => { for (const f of decodeFrames(chunk)) if (f.opcode === 10) pongs.push(f.payload.toString()) })
  })
  const auto = await connect(url)
  const manual = await connect(url, { autoPong: false })
  const [data] = await once(manual, 'ping') as [Buffer]
  t.equal(data.toString(), 'p')
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(pongs, ['p'], 'one pong, from the autoPong socket')
  auto.terminate()
  manual.terminate()
})

t.test('heartbeat: the client pings (masked) and drops a server that stops answering', async t => {
  const pings: boolean[] = []
  const { url } = await rawServer(t, (socket, key) => {
    socket.write(accept101(key))
    socket.on('data', chunk => { for (const f of decodeFrames(chunk)) if (f.opcode === 9) pings.push(f.masked) })
  })
  const ws = await connect(url, { heartbeat: { interval: 100, timeout: 100 } })
  // the server never closes: only the heartbeat can end this connection (closed() gives up
  // after a bounded wait, which is the failure if it does not)
  const [code] = await closed(ws)
  t.equal(code, 1006)
  t.ok(pings.length >= 1 && pings.every(m => m), `${pings.length} masked ping(s) seen`)
})

t.test('an error thrown by a message listener closes the socket with 1011 and reaches error listeners', async t => {
  const { url } = await pluginServer(t)
  const ws = await connect(`${url}/echo`)
  ws.on('message', () => { throw new Error('listener broke') })
  const errored = once(ws, 'error')
  ws.send('x')
  const [err] = await errored as [Error]
  t.equal(err.message, 'listener broke')
  const [code] = await closed(ws)
  t.equal(code, 1011)
})

t.test('without error listeners, a listener error goes to the logger, or else becomes a process warning', async t => {
  const { url } = await pluginServer(t)
  const logged: string[] = []
  const log = {
    debug () {},
    info () {},
    warn () {},
    error (obj: object, msg?: string) { logged.push(`${(obj as { err: Error }).err.message}: ${msg ?? ''}`) }
  }
  const withLog = await connect(`${url}/echo`, { log })
  withLog.on('message', () => { throw new Error('logged failure') })
  withLog.send('x')
  const [code] = await closed(withLog)
  t.equal(code, 1011)
  t.same(logged, ['logged failure: error in a WebSocket listener: closing with 1011'])

  const warned = new Promise<Error>(resolve => process.once('warning', resolve))
  const bare = await connect(`${url}/echo`)
  bare.on('message', () => { throw new Error('warned failure') })
  bare.send('y')
  const warning = await warned
  t.equal(warning.message, 'warned failure')
  const [bareCode] = await closed(bare)
  t.equal(bareCode, 1011)
})

t.test('bad URLs and options reject before any connection is made', async t => {
  const cases: Array<[string, unknown, string]> = [
    ['not a url', {}, 'WS_ERR_CLIENT_URL'],
    ['ftp://127.0.0.1/', {}, 'WS_ERR_CLIENT_URL'],
    ['ws://127.0.0.1/#frag', {}, 'WS_ERR_CLIENT_URL'],
    ['ws://127.0.0.1/', { handshakeTimeout: 0 }, 'WS_ERR_INVALID_OPTION'],
    ['ws://127.0.0.1/', { maxRedirects: -1 }, 'WS_ERR_INVALID_OPTION'],
    ['ws://127.0.0.1/', { maxPayload: -5 }, 'WS_ERR_INVALID_OPTION'],
    ['ws://127.0.0.1/', { proxy: 'socks5://127.0.0.1:1080' }, 'WS_ERR_INVALID_OPTION'],
    ['ws://127.0.0.1/', { proxy: '::' }, 'WS_ERR_INVALID_OPTION'],
    ['ws://127.0.0.1/', null, 'WS_ERR_INVALID_OPTION']
  ]
  for (const [url, options, code] of cases) {
    const err = await rejection(connect(url, options as object))
    t.equal(err.code, code, `${url} ${JSON.stringify(options)}`)
  }
})

t.test('invalid headers or subprotocols reject without sending anything', async t => {
  let connections = 0
  const { url, server } = await rawServer(t, () => {})
  server.on('connection', () => connections++)
  const injected = await rejection(connect(url, { headers: { 'X-Evil': 'a\r\nInjected: 1' } }))
  t.equal(injected.code, 'WS_ERR_INVALID_HEADER')
  const repeated = await rejection(connect(url, { protocols: ['a', 'a'] }))
  t.equal(repeated.code, 'WS_ERR_INVALID_OPTION')
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(connections, 0, 'checked before any TCP connection is opened')
})

t.test('a refused TCP connection rejects with the network error', async t => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  const err = await rejection(connect(`ws://127.0.0.1:${port}/`))
  t.equal(err.code, 'ECONNREFUSED')
})

t.test('an AbortSignal stops an opening in progress, and an aborted signal stops it before it starts', async t => {
  const { url } = await rawServer(t, () => {})
  const controller = new AbortController()
  const pending = connect(url, { signal: controller.signal, handshakeTimeout: 5000 })
  setTimeout(() => controller.abort(new Error('changed my mind')), 50)
  const err = await rejection(pending)
  t.equal(err.message, 'changed my mind')
  const before = await rejection(connect(url, { signal: AbortSignal.abort(new Error('already')) }))
  t.equal(before.message, 'already')
})
