// Interop with another client's RFC 8441: undici's WebSocket over an HTTP/2 Agent (allowH2),
// in another process, against the plugin on https + http2. Asserted on the server: the
// handshake came over HTTP/2; in the client: the echo, the subprotocol, permessage-deflate, a
// clean close.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyServerOptions } from 'fastify'
import { startApp, waitFor } from '../helpers/app'
import { forkPeer } from '../helpers/peer-process'

t.test("undici's WebSocket opens over HTTP/2 and echoes, with a subprotocol and permessage-deflate", async t => {
  const dir = t.testdir()
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 })
  const versions: string[] = []
  const closes: number[] = []
  const server = await startApp(t, app => {
    app.get('/echo', {
      websocket: {
        protocols: ['chat.v1'],
        open (_socket, req) { versions.push(req.raw.httpVersion) },
        message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) },
        close (_socket, code) { closes.push(code) }
      }
    })
  }, {
    fastify: { http2: true, https: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } } as FastifyServerOptions,
    plugin: { perMessageDeflate: true }
  })
  const peer = forkPeer(join(__dirname, 'fixtures', 'undici-client.js'), { url: `wss://127.0.0.1:${server.port}/echo`, text: 'hello from undici' })
  t.teardown(() => peer.stop())
  const echo = await peer.next<{ echo: string, protocol: string, extensions: string }>(10_000)
  t.equal(echo.echo, 'hello from undici')
  t.equal(echo.protocol, 'chat.v1')
  t.match(echo.extensions, /^permessage-deflate/)
  t.same(await peer.next(10_000), { closed: 1000 })
  t.same(versions, ['2.0'], 'the handshake came over HTTP/2')
  await waitFor(() => closes.length === 1)
  t.same(closes, [1000])
})
