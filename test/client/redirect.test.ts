// Redirects on the opening handshake: followed up to maxRedirects, credentials kept only within
// one origin, unfollowable ones refused.
import t, { type Test } from 'tap'
import { createServer, type Socket, type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { connect } from '../../lib/client/connect'
import { computeAccept } from '../../lib/handshake/accept'
import type { HandshakeRefusal } from '../../lib/client/refusal'

interface Seen { path: string, authorization: string | undefined, cookie: string | undefined, xKeep: string | undefined, host?: string }

/**
 * A server that answers `GET /hop/N` with a 3xx to `/hop/N-1` and `GET /hop/0` with a valid
 * 101; `redirect(path)` may override the answer for a path.
 */
async function hopServer (t: Test, redirect: (path: string) => string | null = () => null, delayMs = 0): Promise<{ port: number, seen: Seen[] }> {
  const seen: Seen[] = []
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', function onData (chunk) {
      buffered += chunk.toString('latin1')
      if (!buffered.includes('\r\n\r\n')) return
      socket.removeListener('data', onData)
      setTimeout(answer, delayMs)
    })
    function answer (): void {
      const header = (name: string): string | undefined => new RegExp(`^${name}: *(.*)$`, 'im').exec(buffered)?.[1]?.trim()
      const path = buffered.split(' ')[1]
      const host = header('host')
      seen.push({ path, authorization: header('authorization'), cookie: header('cookie'), xKeep: header('x-keep'), ...(host === 'virtual.example' ? { host } : {}) })
      const custom = redirect(path)
      if (custom !== null) {
        socket.end(custom)
        return
      }
      const hop = Number(path.split('/')[2])
      if (hop > 0) {
        const status = [301, 302, 303, 307, 308][hop % 5]
        socket.end(`HTTP/1.1 ${status} Moved\r\nLocation: /hop/${hop - 1}\r\nContent-Length: 0\r\n\r\n`)
        return
      }
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(header('sec-websocket-key') ?? '')}\r\n\r\n`)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.close()
    for (const s of sockets) s.destroy()
  })
  return { port: (server.address() as AddressInfo).port, seen }
}

async function refusal (p: Promise<unknown>): Promise<HandshakeRefusal> {
  try {
    await p
  } catch (err) {
    return err as HandshakeRefusal
  }
  throw new Error('expected a rejection')
}

t.test('a redirect is not followed by default: WS_ERR_CLIENT_REDIRECTS with the status and Location', async t => {
  const { port, seen } = await hopServer(t)
  const err = await refusal(connect(`ws://127.0.0.1:${port}/hop/1`))
  t.equal(err.code, 'WS_ERR_CLIENT_REDIRECTS')
  t.equal(err.statusCode, 302)
  t.equal(err.headers.location, '/hop/0')
  t.equal(seen.length, 1)
})

t.test('redirects of every status are followed up to maxRedirects', async t => {
  const { port, seen } = await hopServer(t)
  const ws = await connect(`ws://127.0.0.1:${port}/hop/5`, { maxRedirects: 5 })
  t.equal(ws.readyState, ws.OPEN)
  t.same(seen.map(s => s.path), ['/hop/5', '/hop/4', '/hop/3', '/hop/2', '/hop/1', '/hop/0'])
  ws.terminate()
})

t.test('one redirect more than maxRedirects fails with WS_ERR_CLIENT_REDIRECTS', async t => {
  const { port, seen } = await hopServer(t)
  const err = await refusal(connect(`ws://127.0.0.1:${port}/hop/4`, { maxRedirects: 3 }))
  t.equal(err.code, 'WS_ERR_CLIENT_REDIRECTS')
  t.equal(seen.length, 4)
  t.match(err.message, /maxRedirects 3/)
})

t.test('an absolute http:// Location to another origin is followed as ws://, without Authorization, Cookie or a custom Host', async t => {
  const target = await hopServer(t)
  const { port, seen } = await hopServer(t, path => path === '/start'
    ? `HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:${target.port}/hop/0\r\n\r\n`
    : null)
  const ws = await connect(`ws://127.0.0.1:${port}/start`, {
    maxRedirects: 1,
    headers: { Authorization: 'Bearer secret', cookie: 'sid=1', 'X-Keep': 'yes', Host: 'virtual.example' }
  })
  ws.terminate()
  t.same(seen, [{ path: '/start', authorization: 'Bearer secret', cookie: 'sid=1', xKeep: 'yes', host: 'virtual.example' }])
  t.same(target.seen, [{ path: '/hop/0', authorization: undefined, cookie: undefined, xKeep: 'yes' }])
})

t.test('a same-origin redirect keeps Authorization and Cookie', async t => {
  const { port, seen } = await hopServer(t)
  const ws = await connect(`ws://127.0.0.1:${port}/hop/1`, { maxRedirects: 1, headers: { Authorization: 'Bearer secret', Cookie: 'sid=1' } })
  ws.terminate()
  t.same(seen.map(s => [s.path, s.authorization, s.cookie]), [['/hop/1', 'Bearer secret', 'sid=1'], ['/hop/0', 'Bearer secret', 'sid=1']])
})

t.test('a 3xx without Location is a refusal with its status', async t => {
  const { port } = await hopServer(t, () => 'HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n')
  const err = await refusal(connect(`ws://127.0.0.1:${port}/`, { maxRedirects: 2 }))
  t.equal(err.code, 'WS_ERR_CLIENT_HANDSHAKE')
  t.equal(err.statusCode, 302)
})

t.test('a redirect to another scheme or to a malformed URL is refused', async t => {
  const { port } = await hopServer(t, path => path === '/ftp'
    ? 'HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/file\r\n\r\n'
    : 'HTTP/1.1 302 Found\r\nLocation: http://[bad\r\n\r\n')
  const ftp = await refusal(connect(`ws://127.0.0.1:${port}/ftp`, { maxRedirects: 2 }))
  t.equal(ftp.code, 'WS_ERR_CLIENT_URL')
  t.match(ftp.message, /ftp:/)
  const bad = await refusal(connect(`ws://127.0.0.1:${port}/bad`, { maxRedirects: 2 }))
  t.equal(bad.code, 'WS_ERR_CLIENT_URL')
})

t.test('the handshake deadline covers the whole redirect chain', async t => {
  // every hop answers after 80 ms: five hops cannot fit in 200 ms
  const { port, seen } = await hopServer(t, () => null, 80)
  const started = Date.now()
  const err = await refusal(connect(`ws://127.0.0.1:${port}/hop/5`, { maxRedirects: 10, handshakeTimeout: 200 }))
  t.equal(err.code, 'WS_ERR_CLIENT_TIMEOUT')
  // one deadline for the chain, the one given (named in the error rather than bounded by the clock)
  t.match(err.message, /not open after 200 ms/)
  t.ok(Date.now() - started >= 190, 'not before the deadline')
  t.ok(seen.length >= 1 && seen.length <= 3, `${seen.length} hops were tried, not all 6`)
})
