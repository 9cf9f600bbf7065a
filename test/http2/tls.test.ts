// WebSockets over HTTP/2 with TLS (`Fastify({ http2: true, https })`, ALPN h2), with and without
// allowHTTP1: on the latter, HTTP/1.1 clients upgrade as before on the same port. Peers run in
// other processes; the certificate is self-signed, made at test time with openssl.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { startApp, waitFor } from '../helpers/app'
import { forkPeer } from '../helpers/peer-process'
import { startPeer } from '../helpers/h2-peer'

function selfSigned (dir: string): { key: Buffer, cert: Buffer } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 })
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
}

const { key, cert } = selfSigned(t.testdir())

function routes (app: FastifyInstance, versions: string[]): void {
  app.get('/echo', {
    websocket: {
      open (_socket, req) { versions.push(req.raw.httpVersion) },
      message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) }
    },
    preHandler: async (req, reply) => { if (req.headers.authorization === 'no') return reply.code(401).send({ error: 'tls 401' }) }
  })
}

for (const allowHTTP1 of [false, true]) {
  t.test(`over https with http2${allowHTTP1 ? ' and allowHTTP1' : ''}: echo, deflate, a refusal, app.close()`, async t => {
    const versions: string[] = []
    const server = await startApp(t, app => routes(app, versions), {
      fastify: { http2: true, https: { key, cert, allowHTTP1 } } as FastifyServerOptions,
      plugin: { perMessageDeflate: true },
      teardown: false
    })
    const peer = await startPeer(t, `https://127.0.0.1:${server.port}`, true)
    t.equal((await peer.take(r => r.ev === 'settings', 'settings')).enableConnectProtocol, true)
    const res = await peer.open(1, '/echo', { deflate: true })
    t.equal(res.status, 200)
    t.match(res.headers?.['sec-websocket-extensions'], /^permessage-deflate/)
    const text = 'over h2 and tls '.repeat(2000)
    peer.send(1, text)
    t.equal(await peer.message(1), text)
    const refused = await peer.open(2, '/echo', { headers: { authorization: 'no' } })
    t.equal(refused.status, 401)
    t.same(JSON.parse(refused.body ?? ''), { error: 'tls 401' })
    t.same(versions, ['2.0'])

    if (allowHTTP1) {
      // an HTTP/1.1 client on the same port still upgrades the HTTP/1.1 way
      const h1 = forkPeer(join(__dirname, 'fixtures', 'h1-client.js'), { url: `wss://127.0.0.1:${server.port}/echo`, text: 'over h1' })
      t.teardown(() => h1.stop())
      t.same(await h1.next(5000), { echo: 'over h1' })
      t.same(await h1.next(5000), { closed: 1000 })
      t.same(versions, ['2.0', '1.1'])
    }

    await server.app.close()
    t.equal((await peer.take(r => r.id === 1 && r.ev === 'conclude', 'close frame')).code, 1001)
    await peer.take(r => r.ev === 'session-close', 'the session to close')
    await waitFor(() => server.app.websocketClients.size === 0)
  })
}
