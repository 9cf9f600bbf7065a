// connect(url, { http2 }) against the echo server (lib/bin/echo.ts) in another process: over h2c
// and over TLS with ALPN h2, many WebSockets on one shared session, a fallback to the HTTP/1.1
// upgrade where the server has no WebSockets over HTTP/2, and refusals.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect as http2Connect } from 'node:http2'
import { join } from 'node:path'
import { connect } from '../../lib/client'
import type { WebSocket } from '../../lib/index'
import { ECHO_SERVER, spawnServer } from '../helpers/adversary'

function nextMessage (ws: WebSocket): Promise<[Buffer, boolean]> {
  return new Promise(resolve => ws.once('message', (data: Buffer, isBinary: boolean) => resolve([data, isBinary])))
}
function closed (ws: WebSocket): Promise<number> {
  return new Promise(resolve => ws.once('close', (code: number) => resolve(code)))
}

t.test('over h2c: echo both ways with permessage-deflate, then a clean close; the connection goes with the socket', async t => {
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0', '--http2', '--deflate'] })
  const ws = await connect(`ws://127.0.0.1:${server.port}/`, { http2: true, perMessageDeflate: true })
  t.match(ws.extensions, /^permessage-deflate/)
  const big = 'h2 '.repeat(100_000) // beyond the 64 KiB window: flow control both ways
  ws.send(big)
  const [text, isBinary] = await nextMessage(ws)
  t.equal(text.toString(), big)
  t.equal(isBinary, false)
  ws.send(Buffer.from([1, 2, 3]))
  t.same(await nextMessage(ws), [Buffer.from([1, 2, 3]), true])
  const code = closed(ws)
  ws.close(1000)
  t.equal(await code, 1000)
})

t.test('many WebSockets on one ClientHttp2Session given by the caller, which stays open', async t => {
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0', '--http2'] })
  const session = http2Connect(`http://127.0.0.1:${server.port}`)
  t.teardown(() => session.destroy())
  const N = 20
  const sockets = await Promise.all(Array.from({ length: N }, () => connect(`ws://127.0.0.1:${server.port}/`, { http2: session })))
  t.equal(session.state.nextStreamID, 2 * N + 1, `${N} streams of the one session`)
  const echoes = sockets.map(nextMessage)
  sockets.forEach((ws, i) => ws.send(`socket ${i}`))
  t.same((await Promise.all(echoes)).map(([data]) => data.toString()), sockets.map((_, i) => `socket ${i}`))
  await Promise.all(sockets.map(ws => { const c = closed(ws); ws.close(1000); return c }))
  t.equal(session.closed, false, "the caller's session is left open")
})

t.test('over TLS: ALPN h2, the certificate checked against its CA', async t => {
  const dir = t.testdir()
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 })
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0', '--http2', '--key', join(dir, 'key.pem'), '--cert', join(dir, 'cert.pem')] })
  const ca = readFileSync(join(dir, 'cert.pem'))
  const ws = await connect(`wss://127.0.0.1:${server.port}/`, { http2: true, ca, servername: 'localhost' })
  ws.send('over h2 and tls')
  t.equal((await nextMessage(ws))[0].toString(), 'over h2 and tls')
  const code = closed(ws)
  ws.close(1000)
  t.equal(await code, 1000)
  await t.rejects(connect(`wss://127.0.0.1:${server.port}/`, { http2: true }), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    'an untrusted certificate fails the opening (no fallback to HTTP/1.1)')
})

t.test('a server without WebSockets over HTTP/2: http2: true falls back to the HTTP/1.1 upgrade; a given session fails', async t => {
  const h1 = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0'] })
  const ws = await connect(`ws://127.0.0.1:${h1.port}/`, { http2: true })
  ws.send('over http/1.1')
  t.equal((await nextMessage(ws))[0].toString(), 'over http/1.1')
  ws.terminate()
  const h2 = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0', '--http2'] })
  await t.rejects(connect(`ws://127.0.0.1:${h2.port}/nowhere`, { http2: true }), { code: 'WS_ERR_CLIENT_HANDSHAKE', statusCode: 404 },
    'a refusal carries its HTTP/2 status')
  await t.rejects(connect(`ws://127.0.0.1:${h2.port}/`, { http2: true, proxy: 'http://127.0.0.1:1' }), { code: 'WS_ERR_INVALID_OPTION' })
})
