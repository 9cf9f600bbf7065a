// ReconnectingWebSocket against our plugin: drops, refusals, Retry-After and close().
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import Fastify from 'fastify'
import websocket from '../../lib/index'
import { ReconnectingWebSocket, connectWithRetry } from '../../lib/client/reconnect'
import type { WebSocket } from '../../lib/socket'
import { computeAccept } from '../../lib/handshake/accept'

const FAST = { minDelay: 10, maxDelay: 40, factor: 2, jitter: 0 }
const CONNECTING = 0

/** Our plugin: `/drop` terminates the first `drops` connections at once; `/echo` echoes; `/status/N` refuses with N. */
async function server (t: Test, drops = 1): Promise<{ url: string, opened: () => number, closes: Array<[number, string]> }> {
  let opened = 0
  const closes: Array<[number, string]> = []
  const app = Fastify()
  await app.register(websocket)
  app.get('/drop', { websocket: true }, socket => {
    opened++
    // the connection is open on both sides first, then the server drops it without a close frame
    if (opened <= drops) setTimeout(() => socket.terminate(), 10)
    else socket.send(`welcome ${opened}`)
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
    socket.on('close', (code, reason) => closes.push([code, reason.toString()]))
  })
  app.route({
    method: 'GET',
    url: '/status/:code',
    preHandler: async (req, reply) => {
      opened++
      const code = Number((req.params as { code: string }).code)
      if (code === 503) reply.header('retry-after', '1')
      return reply.code(code).send('no')
    },
    websocket: { open () {} }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`, opened: () => opened, closes }
}

function record (rws: ReconnectingWebSocket): string[] {
  const events: string[] = []
  rws.on('open', () => events.push('open'))
  rws.on('close', code => events.push(`close ${code}`))
  rws.on('reconnecting', (attempt, delay) => events.push(`reconnecting ${attempt} ${delay}`))
  rws.on('message', data => events.push(`message ${data.toString()}`))
  rws.on('end', cause => events.push(`end ${cause === null ? 'null' : (cause as { statusCode?: number }).statusCode ?? (cause as Error).message}`))
  return events
}

async function until (check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

t.test('after the server drops the connection the client reconnects, forwards messages, and stops after close()', async t => {
  const srv = await server(t, 2)
  const rws = connectWithRetry(`${srv.url}/drop`, { reconnect: FAST })
  const events = record(rws)
  t.equal(rws.readyState, CONNECTING)
  t.equal(rws.socket, null)
  await until(() => events.includes('message welcome 3'))
  t.same(events, [
    'open', 'close 1006', 'reconnecting 1 10',
    'open', 'close 1006', 'reconnecting 1 10',
    'open', 'message welcome 3'
  ], 'the attempt counter restarts after each successful open')
  t.ok(rws.send('ping me'))
  await until(() => events.includes('message ping me'))
  rws.close(1000, 'bye')
  await once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(events.slice(-2), ['close 1000', 'end null'])
  await until(() => srv.closes.length === 3)
  t.same(srv.closes.at(-1), [1000, 'bye'])
  const openedAtClose = srv.opened()
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(srv.opened(), openedAtClose, 'no connection after close()')
  t.equal(rws.readyState, 3)
  t.equal(rws.send('late'), false)
})

t.test('a 4xx refusal is final: no retry, end with the refusal', async t => {
  const srv = await server(t)
  const rws = new ReconnectingWebSocket(`${srv.url}/status/401`, { reconnect: FAST })
  const events = record(rws)
  await once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(events, ['end 401'])
  t.equal(srv.opened(), 1)
})

t.test('503 and 429 refusals are retried until the retries run out; 503 Retry-After is honoured', async t => {
  const srv = await server(t)
  const rws = connectWithRetry(`${srv.url}/status/503`, { reconnect: { ...FAST, retries: 2 } })
  const events = record(rws)
  const [cause] = await once(rws, 'end', { signal: AbortSignal.timeout(5000) }) as [{ statusCode: number }]
  t.equal(cause.statusCode, 503)
  t.same(events, ['reconnecting 1 40', 'reconnecting 2 40', 'end 503'], 'Retry-After: 1 waits as long as maxDelay allows')
  t.equal(srv.opened(), 3)

  const busy = connectWithRetry(`${srv.url}/status/429`, { reconnect: { ...FAST, retries: 1 } })
  const busyEvents = record(busy)
  await once(busy, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(busyEvents, ['reconnecting 1 10', 'end 429'])
})

t.test('network failures are retried with growing, capped delays', async t => {
  const closedPort = await new Promise<number>(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
  const rws = connectWithRetry(`ws://127.0.0.1:${closedPort}/`, { reconnect: { ...FAST, retries: 4 } })
  const causes: unknown[] = []
  rws.on('reconnecting', (_attempt, _delay, cause) => causes.push(cause))
  const events = record(rws)
  await once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(events, ['reconnecting 1 10', 'reconnecting 2 20', 'reconnecting 3 40', 'reconnecting 4 40', `end ${(causes[0] as Error).message}`])
  t.equal((causes[0] as { code: string }).code, 'ECONNREFUSED')
})

t.test('close() during a pending attempt aborts it; close() while waiting cancels the wait', async t => {
  const sockets = new Set<Socket>()
  let closedCount = 0
  const silent = createServer(s => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => closedCount++)
    s.resume()
  })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => { silent.close(); for (const s of sockets) s.destroy() })
  const rws = connectWithRetry(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { reconnect: FAST })
  const events = record(rws)
  await until(() => sockets.size === 1)
  rws.close()
  await once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(events, ['end null'])
  await until(() => closedCount === 1)
  t.pass('the pending connection was closed')

  const srv = await server(t)
  // a wait of a minute: 'end' within the 5 s allowed can only come from close() cancelling it
  // (and a timer left behind would hold the test process open)
  const waiting = connectWithRetry(`${srv.url}/status/503`, { reconnect: { minDelay: 60_000, maxDelay: 60_000, jitter: 0 } })
  const waitingEvents = record(waiting)
  await until(() => waitingEvents.length === 1)
  waiting.close()
  await once(waiting, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(waitingEvents, ['reconnecting 1 60000', 'end null'], 'the minute-long wait was cancelled')
})

t.test('shouldReconnect can refuse to come back after a given close code', async t => {
  const app = Fastify()
  await app.register(websocket)
  app.get('/kick', { websocket: true }, socket => socket.close(4000, 'kicked'))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const codes: number[] = []
  const rws = connectWithRetry(`ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/kick`, {
    reconnect: FAST,
    shouldReconnect: (code) => { codes.push(code); return code !== 4000 }
  })
  const events = record(rws)
  await once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  t.same(events, ['open', 'close 4000', 'end null'])
  t.same(codes, [4000])
})

t.test('an aborted signal stops it, invalid reconnect options throw, send without a socket fails', async t => {
  const controller = new AbortController()
  const srv = await server(t, 0)
  const rws = connectWithRetry(`${srv.url}/drop`, { reconnect: FAST, signal: controller.signal })
  const [socket] = await once(rws, 'open', { signal: AbortSignal.timeout(5000) }) as [WebSocket]
  t.equal(rws.socket, socket)
  t.equal(rws.readyState, 1)
  const end = once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  controller.abort()
  await end
  t.equal(rws.readyState, 3)

  const pre = connectWithRetry(`${srv.url}/drop`, { signal: AbortSignal.abort() })
  const [cause] = await once(pre, 'end', { signal: AbortSignal.timeout(5000) })
  t.equal(cause, null)

  t.throws(() => connectWithRetry('ws://127.0.0.1:1/', { reconnect: { factor: 0.5 } }), { code: 'WS_ERR_INVALID_OPTION' })
  const idle = connectWithRetry('ws://127.0.0.1:1/', { reconnect: { retries: 0 } })
  let sent: Error | undefined
  t.equal(idle.send('x', err => { sent = err }), false)
  await once(idle, 'end', { signal: AbortSignal.timeout(5000) })
  t.equal((sent as { code?: string } | undefined)?.code, 'WS_ERR_NOT_OPEN')
})

t.test('a bad URL ends it at once without retrying', async t => {
  const rws = connectWithRetry('ftp://127.0.0.1/', { reconnect: FAST })
  const events = record(rws)
  const [cause] = await once(rws, 'end', { signal: AbortSignal.timeout(5000) }) as [{ code: string }]
  t.equal(cause.code, 'WS_ERR_CLIENT_URL')
  t.equal(events.length, 1)
})

t.test('errors of the open socket are forwarded to error listeners', async t => {
  const sockets = new Set<Socket>()
  const bad = createServer(s => {
    sockets.add(s)
    s.on('error', () => {})
    s.once('data', chunk => {
      const key = /sec-websocket-key: *(\S+)/i.exec(chunk.toString('latin1'))?.[1] ?? ''
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`)
      setTimeout(() => s.write(Buffer.from([0x81, 0x01, 0xff])), 20) // a text frame that is not UTF-8
    })
  })
  bad.listen(0, '127.0.0.1')
  await once(bad, 'listening')
  t.teardown(() => { bad.close(); for (const s of sockets) s.destroy() })
  const rws = connectWithRetry(`ws://127.0.0.1:${(bad.address() as AddressInfo).port}/`, { reconnect: { ...FAST, retries: 0 } })
  const [err] = await once(rws, 'error', { signal: AbortSignal.timeout(5000) }) as [{ code: string }]
  t.equal(err.code, 'WS_ERR_INVALID_UTF8')
  const [cause] = await once(rws, 'end', { signal: AbortSignal.timeout(5000) })
  t.equal(cause, null, 'retries 0: the drop ends it')
})
