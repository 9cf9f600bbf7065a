// wss:// against our plugin served over HTTPS with a self-signed certificate made at test time.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import Fastify from 'fastify'
import websocket from '../../lib/index'
import { connect } from '../../lib/client/connect'

function makeCertificate (t: Test): { key: Buffer, cert: Buffer } {
  const dir = t.testdir({})
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 })
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
}

const { key, cert } = makeCertificate(t)

async function secureServer (t: Test): Promise<{ port: number, sni: Array<string | false> }> {
  const app = Fastify({ https: { key, cert } })
  const sni: Array<string | false> = []
  app.server.on('secureConnection', (socket: { servername?: string | false }) => sni.push(socket.servername ?? false))
  await app.register(websocket)
  app.get('/echo', { websocket: true }, socket => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { port: (app.server.address() as AddressInfo).port, sni }
}

async function rejection (p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('expected a rejection')
}

t.test('wss:// echoes through TLS with the CA and servername given', async t => {
  const { port, sni } = await secureServer(t)
  const ws = await connect(`wss://127.0.0.1:${port}/echo`, { ca: cert, servername: 'localhost' })
  ws.send('over tls')
  const [data] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer]
  t.equal(data.toString(), 'over tls')
  ws.send(Buffer.alloc(100_000, 3))
  const [big] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer]
  t.equal(big.length, 100_000)
  ws.close(1000)
  const [code] = await once(ws, 'close', { signal: AbortSignal.timeout(5000) }) as [number]
  t.equal(code, 1000)
  t.same(sni, ['localhost'], 'SNI carried the servername')
})

t.test('a self-signed certificate is refused unless trusted or verification is off', async t => {
  const { port, sni } = await secureServer(t)
  const untrusted = await rejection(connect(`wss://127.0.0.1:${port}/echo`, { servername: 'localhost' }))
  t.match(untrusted.code, /SELF_SIGNED|UNABLE_TO_VERIFY/)
  const wrongName = await rejection(connect(`wss://127.0.0.1:${port}/echo`, { ca: cert, servername: 'example.com' }))
  t.equal(wrongName.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
  const ws = await connect(`wss://127.0.0.1:${port}/echo`, { rejectUnauthorized: false })
  t.equal(ws.readyState, ws.OPEN)
  ws.terminate()
  t.equal(sni.at(-1), false, 'no SNI is sent for an IP address')
})

t.test('a redirect from ws:// to wss:// is followed', async t => {
  const { port } = await secureServer(t)
  const sockets = new Set<Socket>()
  const plain = createServer(socket => {
    sockets.add(socket)
    socket.once('data', () => socket.end(`HTTP/1.1 301 Moved Permanently\r\nLocation: wss://127.0.0.1:${port}/echo\r\n\r\n`))
  })
  plain.listen(0, '127.0.0.1')
  await once(plain, 'listening')
  t.teardown(() => { plain.close(); for (const s of sockets) s.destroy() })
  const ws = await connect(`ws://127.0.0.1:${(plain.address() as AddressInfo).port}/`, { maxRedirects: 1, ca: cert, servername: 'localhost' })
  ws.send('upgraded')
  const [data] = await once(ws, 'message', { signal: AbortSignal.timeout(5000) }) as [Buffer]
  t.equal(data.toString(), 'upgraded')
  ws.terminate()
})
