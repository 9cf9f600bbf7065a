// The ws members code written for ws relies on, on our socket (server side through the plugin,
// client side through connect(): the same class): binaryType, url, isPaused, the EventTarget
// interface with MessageEvent/CloseEvent/ErrorEvent, the onX attributes, ping(cb), and events
// typed in strict TypeScript (this file does not compile if a listener's parameters are untyped).
import t, { type Test } from 'tap'
import WS, { createWebSocketStream } from 'ws'
import { connect } from '../lib/client'
import { sessionOf } from '../lib/session'
import { type WebSocket, type MessageEvent, type CloseEvent, type ErrorEvent } from '../lib/index'
import { startApp, messages, waitEvent, type TestApp } from './helpers/app'

type IsAny<T> = 0 extends 1 & T ? true : false
/** Compiles only if `value` is not typed `any` (an untyped listener parameter would be). */
function typed<T> (value: T, ..._notAny: IsAny<T> extends true ? [never] : []): T { return value }

/** An app whose / route hands each server socket to `onSocket`. */
async function serverWith (t: Test, onSocket: (socket: WebSocket) => void): Promise<TestApp> {
  return startApp(t, app => {
    app.get('/', { websocket: true }, socket => onSocket(socket))
    app.get('/echo', { websocket: true }, socket => {
      socket.on('message', (data, isBinary) => {
        if (data.toString() === 'close me') socket.close(4001, 'bye')
        else socket.send(data, { binary: isBinary })
      })
    })
  })
}

t.test('binaryType converts binary messages for listeners: arraybuffer, fragments; text stays a Buffer; the default is nodebuffer', async t => {
  const got: unknown[] = []
  const server = await serverWith(t, socket => {
    t.equal(socket.binaryType, 'nodebuffer')
    socket.binaryType = 'arraybuffer'
    socket.binaryType = 'blob' as never // ignored, as ws does
    socket.on('message', (data, isBinary) => {
      got.push([data, isBinary])
      if (got.length === 2) socket.binaryType = 'fragments'
      if (got.length === 3) socket.send('done')
    })
  })
  const client = new WS(server.ws('/'))
  await waitEvent(client, 'open')
  client.send(Buffer.from([1, 2, 3]))
  client.send('text')
  client.send(Buffer.from([4, 5]))
  t.same(await messages(client, 1), ['done'])
  client.close()
  const [ab, text, fragments] = got as Array<[unknown, boolean]>
  t.ok(ab[0] instanceof ArrayBuffer)
  t.same([...new Uint8Array(ab[0] as ArrayBuffer)], [1, 2, 3])
  t.ok(Buffer.isBuffer(text[0]), 'a text message is a Buffer whatever binaryType says (as ws)')
  t.equal(text[1], false)
  t.ok(Array.isArray(fragments[0]))
  t.same(Buffer.concat(fragments[0] as Buffer[]), Buffer.from([4, 5]))
})

t.test('url is the request URL on the server socket and the URL connected to on the client', async t => {
  let serverUrl = ''
  const server = await startApp(t, app => {
    app.get('/path', { websocket: true }, socket => { serverUrl = socket.url; socket.send('x') })
  })
  const client = await connect(server.ws('/path?a=1'))
  await waitEvent(client, 'message')
  t.equal(serverUrl, '/path?a=1')
  t.equal(client.url, server.ws('/path?a=1'))
  client.close()
})

t.test('addEventListener gives MessageEvent (text as a string), CloseEvent and ErrorEvent objects; duplicates and removed listeners are not called', async t => {
  const server = await serverWith(t, () => {})
  const client = await connect(server.ws('/echo'))
  const seen: string[] = []
  const onMessage = (event: MessageEvent): void => { seen.push(`${typeof event.data}:${String(event.data)}:${event.type}:${String(event.target === client)}`) }
  client.addEventListener('message', onMessage)
  client.addEventListener('message', onMessage) // an EventTarget ignores a second registration
  const handler = { count: 0, handleEvent (event: MessageEvent) { this.count++; seen.push(`object:${Buffer.isBuffer(event.data) ? 'buffer' : 'other'}`) } }
  client.addEventListener('message', handler, { once: true })
  const closeEvent = new Promise<CloseEvent>(resolve => client.addEventListener('close', resolve))
  client.send('one')
  await waitEvent(client, 'message')
  client.removeEventListener('message', onMessage)
  client.send(Buffer.from('two'))
  await waitEvent(client, 'message')
  t.same(seen, ['string:one:message:true', 'object:other'])
  t.equal(handler.count, 1, 'once: the object listener ran once')
  client.send('close me')
  const event = await closeEvent
  t.equal(event.code, 4001)
  t.equal(event.reason, 'bye')
  t.equal(event.wasClean, true)
})

t.test('onmessage/onclose/onerror: a setter replaces the previous handler, null removes it, the getter returns it', async t => {
  let serverSocket: WebSocket | null = null
  const server = await serverWith(t, socket => { serverSocket = socket })
  const client = await connect(server.ws('/'))
  // eslint-disable-next-line no-unmodified-loop-condition -- a listener sets it while the loop awaits
  await t.resolves(async () => { while (serverSocket === null) await new Promise(resolve => setImmediate(resolve)) })
  const got: string[] = []
  const first = (e: MessageEvent): void => { got.push(`first ${String(e.data)}`) }
  const second = (e: MessageEvent): void => { got.push(`second ${String(e.data)}`) }
  client.onmessage = first
  client.onmessage = second
  t.equal(client.onmessage, second)
  t.equal(client.onopen, null)
  ;(serverSocket as unknown as WebSocket).send('a')
  await waitEvent(client, 'message')
  client.onmessage = null
  t.equal(client.onmessage, null)
  t.equal(client.listenerCount('message'), 0)
  t.same(got, ['second a'])

  const errors: ErrorEvent[] = []
  client.onerror = e => { errors.push(e) }
  const closing = new Promise<CloseEvent>(resolve => { client.onclose = resolve })
  // a server frame with RSV2 set fails the client's connection: an ErrorEvent, then a CloseEvent
  sessionOf(serverSocket as unknown as WebSocket).stream.write(Buffer.from([0xa2, 0x00]))
  const event = await closing
  t.equal(event.type, 'close')
  t.equal(errors.length, 1)
  t.match(errors[0], { type: 'error', message: /RSV2 or RSV3/, error: { code: 'WS_ERR_UNEXPECTED_RSV_2_3' } })
})

t.test('ping(cb) takes the callback as ws does (also ping(data, mask, cb)); isPaused follows pause()/resume()', async t => {
  const server = await serverWith(t, () => {})
  const client = await connect(server.ws('/echo'))
  const first = await new Promise<Error | null>(resolve => client.ping(err => resolve(err)))
  t.equal(first, null)
  const second = await new Promise<Error | null>(resolve => client.ping('x', true, err => resolve(err)))
  t.equal(second, null)
  t.equal(client.isPaused, false)
  client.pause()
  t.equal(client.isPaused, true)
  client.resume()
  t.equal(client.isPaused, false)
  client.send('still echoed')
  const [data, isBinary] = await waitEvent<[Buffer, boolean]>(client, 'message')
  t.equal(data.toString(), 'still echoed')
  t.equal(isBinary, false)
  client.close()
})

t.test('events are typed: listeners get their parameters without annotations (checked by tsc in strict mode)', async t => {
  const server = await serverWith(t, () => {})
  const client = await connect(server.ws('/echo'))
  const types: string[] = []
  client.on('message', (data, isBinary) => { const b: Buffer = typed(data); const f: boolean = typed(isBinary); types.push(`message ${b.length} ${String(f)}`) })
  client.once('pong', data => { const b: Buffer = typed(data); types.push(`pong ${String(Buffer.isBuffer(b))}`) })
  client.addListener('close', (code, reason) => { const c: number = typed(code); const r: Buffer = typed(reason); types.push(`close ${c} ${r.toString()}`) })
  client.on('error', err => { const e: Error = typed(err); types.push(e.message) })
  client.prependListener('drain', () => {})
  client.off('drain', () => {})
  client.ping()
  await waitEvent(client, 'pong')
  client.send('m')
  await waitEvent(client, 'message')
  const closedNow = waitEvent(client, 'close')
  client.send('close me')
  await closedNow
  t.same(types, ['pong true', 'message 1 false', 'close 4001 bye'])
})

t.test("ws's createWebSocketStream works over our socket: chunks both ways, and ending its writable side closes the socket", async t => {
  const serverClosed: number[] = []
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => {
      const stream = createWebSocketStream(socket as unknown as WS, { encoding: 'utf8' })
      stream.on('data', (chunk: string) => {
        if (chunk === 'end') stream.end()
        else stream.write(`echo ${chunk}`)
      })
      socket.on('close', code => { serverClosed.push(code) })
    })
  })
  const client = new WS(server.ws('/'))
  await waitEvent(client, 'open')
  client.send('one')
  t.same(await messages(client, 1), [Buffer.from('echo one')], 'a stream writes binary messages')
  const done = waitEvent<[number]>(client, 'close')
  client.send('end')
  t.equal((await done)[0], 1005, "ending the stream's writable side closes (close() without a code, as ws)")
  await t.resolves(async () => { while (serverClosed.length === 0) await new Promise(resolve => setImmediate(resolve)) })
  t.same(serverClosed, [1005])
})
