// The plugin over TLS: a self-signed certificate made at test time with openssl, Fastify with
// `https`, and a `ws` client over wss:// that trusts exactly that certificate.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import type { FastifyServerOptions } from 'fastify'
import { startApp, openWs, messages, closed, refusedWs, waitFor } from '../helpers/app'

function selfSigned (dir: string): { key: Buffer, cert: Buffer } {
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', keyPath, '-out', certPath], { stdio: 'ignore', timeout: 20_000 })
  return { key: readFileSync(keyPath), cert: readFileSync(certPath) }
}

t.test('echo and close over wss:// with a self-signed certificate', async t => {
  const { key, cert } = selfSigned(t.testdir())
  const serverCloses: number[] = []
  const server = await startApp(t, app => {
    app.get('/echo', {
      websocket: {
        message (socket, data, isBinary) {
          if (data.toString() === 'close') socket.close(4001, 'later')
          else socket.send(data, { binary: isBinary })
        },
        close (_socket, code) { serverCloses.push(code) }
      },
      preHandler: async (req, reply) => { if (req.headers.authorization !== 'ok') return reply.code(401).send({ error: 'tls 401' }) }
    })
  }, { fastify: { https: { key, cert } } as FastifyServerOptions })
  const url = `wss://127.0.0.1:${server.port}/echo`

  const client = await openWs(url, undefined, { ca: cert, headers: { authorization: 'ok' } })
  t.ok(((client as unknown as { _socket: TLSSocket })._socket).encrypted, 'the connection is TLS')
  t.ok(((client as unknown as { _socket: TLSSocket })._socket).authorized, 'the certificate verified against its CA')
  const big = Buffer.alloc(200_000, 5)
  client.send('over tls')
  client.send(big)
  t.same(await messages(client, 2), ['over tls', big])
  const clientClosed = closed(client)
  client.send('close')
  t.same(await clientClosed, { code: 4001, reason: 'later' })
  await waitFor(() => serverCloses.length === 1, 2000)
  t.same(serverCloses, [4001], 'the client answered the close over TLS')

  const refused = await refusedWs(url, undefined, { rejectUnauthorized: false })
  t.equal(refused.status, 401, 'a hook refusal is a real HTTPS response')
  t.same(JSON.parse(refused.body), { error: 'tls 401' })
  t.equal(server.app.websocketClients.size, 0)
})
