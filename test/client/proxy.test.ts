// HTTP CONNECT proxies: ws:// and wss:// tunnelled through a tiny proxy written with node:net.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { createServer, connect as netConnect, type AddressInfo, type Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import websocket from '../../lib/index'
import { connect } from '../../lib/client/connect'
import { parseProxyUrl } from '../../lib/client/proxy'
import type { HandshakeRefusal } from '../../lib/client/refusal'

interface ProxyLog { requests: Array<{ target: string, authorization: string | undefined }> }

/**
 * A CONNECT proxy: reads the request head, answers 407 when `password` is set and not given,
 * else dials 127.0.0.1 at the requested port, answers 200 and pipes both ways. `mode` 'silent'
 * never answers.
 */
async function tinyProxy (t: Test, options: { requireAuth?: string, mode?: 'silent' } = {}): Promise<{ url: string, log: ProxyLog }> {
  const log: ProxyLog = { requests: [] }
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    let head = Buffer.alloc(0)
    client.on('data', function onData (chunk) {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      client.removeListener('data', onData)
      const text = head.subarray(0, end).toString('latin1')
      const rest = head.subarray(end + 4)
      const [method, target] = text.split(' ')
      const authorization = /^proxy-authorization: *(.*)$/im.exec(text)?.[1]
      log.requests.push({ target, authorization })
      if (options.mode === 'silent') return
      if (method !== 'CONNECT') {
        client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n')
        return
      }
      if (options.requireAuth !== undefined && authorization !== options.requireAuth) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\n\r\n')
        return
      }
      const port = Number(target.slice(target.lastIndexOf(':') + 1))
      const upstream = netConnect({ host: '127.0.0.1', port }, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (rest.length > 0) upstream.write(rest)
        client.pipe(upstream)
        upstream.pipe(client)
      })
      sockets.add(upstream)
      upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.close()
    for (const s of sockets) s.destroy()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log }
}

async function echoServer (t: Test, tls?: { key: Buffer, cert: Buffer }): Promise<number> {
  // the HTTPS instance differs only in its raw server type, which these routes do not use
  const app: FastifyInstance = tls === undefined ? Fastify() : Fastify({ https: tls }) as unknown as FastifyInstance
  await app.register(websocket)
  app.get('/echo', { websocket: true }, socket => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return (app.server.address() as AddressInfo).port
}

function makeCertificate (t: Test): { key: Buffer, cert: Buffer } {
  const dir = t.testdir({})
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 })
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
}

async function rejection (p: Promise<unknown>): Promise<HandshakeRefusal> {
  try {
    await p
  } catch (err) {
    return err as HandshakeRefusal
  }
  throw new Error('expected a rejection')
}

async function echoes (t: Test, ws: Awaited<ReturnType<typeof connect>>, text: string): Promise<void> {
  ws.send(text)
  const [data] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer]
  t.equal(data.toString(), text)
  ws.close(1000)
  const [code] = await once(ws, 'close', { signal: AbortSignal.timeout(5000) }) as [number]
  t.equal(code, 1000)
}

t.test('ws:// through a CONNECT proxy', async t => {
  const port = await echoServer(t)
  const proxy = await tinyProxy(t)
  const ws = await connect(`ws://127.0.0.1:${port}/echo`, { proxy: proxy.url })
  await echoes(t, ws, 'via proxy')
  t.same(proxy.log.requests, [{ target: `127.0.0.1:${port}`, authorization: undefined }])
})

t.test('wss:// through a CONNECT proxy: TLS runs inside the tunnel', async t => {
  const tls = makeCertificate(t)
  const port = await echoServer(t, tls)
  const proxy = await tinyProxy(t)
  const ws = await connect(`wss://127.0.0.1:${port}/echo`, { proxy: new URL(proxy.url), ca: tls.cert, servername: 'localhost' })
  await echoes(t, ws, 'tls via proxy')
  t.same(proxy.log.requests.map(r => r.target), [`127.0.0.1:${port}`])
  const untrusted = await rejection(connect(`wss://127.0.0.1:${port}/echo`, { proxy: proxy.url, servername: 'localhost' }))
  t.match(untrusted.code, /SELF_SIGNED|UNABLE_TO_VERIFY/, 'the certificate is checked end to end, not at the proxy')
})

t.test('credentials in the proxy URL become Proxy-Authorization; a 407 is a refusal with its status', async t => {
  const port = await echoServer(t)
  const expected = 'Basic ' + Buffer.from('me:s3cret').toString('base64')
  const proxy = await tinyProxy(t, { requireAuth: expected })
  const refused = await rejection(connect(`ws://127.0.0.1:${port}/echo`, { proxy: proxy.url }))
  t.equal(refused.code, 'WS_ERR_CLIENT_HANDSHAKE')
  t.equal(refused.statusCode, 407)
  t.equal(refused.headers['proxy-authenticate'], 'Basic realm="p"')
  t.match(refused.message, /proxy .* refused CONNECT/)
  const proxyUrl = proxy.url.replace('http://', 'http://me:s3cret@')
  const ws = await connect(`ws://127.0.0.1:${port}/echo`, { proxy: proxyUrl })
  await echoes(t, ws, 'authorized')
  t.equal(proxy.log.requests[1].authorization, expected)
})

t.test('a proxy that never answers is bounded by handshakeTimeout', async t => {
  const proxy = await tinyProxy(t, { mode: 'silent' })
  const started = Date.now()
  const err = await rejection(connect('ws://127.0.0.1:9/echo', { proxy: proxy.url, handshakeTimeout: 150 }))
  t.equal(err.code, 'WS_ERR_CLIENT_TIMEOUT')
  // the deadline given, not the default (named in the error rather than bounded by the clock)
  t.match(err.message, /not open after 150 ms/)
  t.ok(Date.now() - started >= 140, 'not before the deadline')
})

t.test('a proxy that cannot reach the target closes the tunnel: the opening fails', async t => {
  const closedPort = await new Promise<number>(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
  const proxy = await tinyProxy(t)
  const err = await rejection(connect(`ws://127.0.0.1:${closedPort}/`, { proxy: proxy.url, handshakeTimeout: 2000 }))
  t.not(err.code, 'WS_ERR_CLIENT_TIMEOUT', `failed with ${String(err.code)} before the deadline`)
})

t.test('proxy URLs: http only, default port 80, IPv6 hosts unbracketed', async t => {
  t.same(parseProxyUrl('http://proxy.local'), { host: 'proxy.local', port: 80, authorization: undefined, href: 'http://proxy.local' })
  t.same(parseProxyUrl(new URL('http://[::1]:3128')), { host: '::1', port: 3128, authorization: undefined, href: 'http://[::1]:3128' })
  t.equal(parseProxyUrl('http://a%40b:c@p:1').authorization, 'Basic ' + Buffer.from('a@b:c').toString('base64'))
  t.throws(() => parseProxyUrl('https://p:1'), { code: 'WS_ERR_INVALID_OPTION' })
  t.throws(() => parseProxyUrl('nonsense'), { code: 'WS_ERR_INVALID_OPTION' })
})
