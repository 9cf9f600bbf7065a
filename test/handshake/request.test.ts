import t from 'tap'
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { WebSocketError } from '../../lib/errors'
import {
  UNSUPPORTED_VERSION_HEADERS, WEBSOCKET_VERSION, isUpgradeRequest, validateUpgradeRequest
} from '../../lib/handshake/request'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

function browserHeaders (extra: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  return {
    host: 'server.example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...extra
  }
}

function refusal (method: string | undefined, headers: IncomingHttpHeaders): WebSocketError {
  try {
    validateUpgradeRequest(method, headers)
  } catch (err) {
    if (err instanceof WebSocketError) return err
    throw err
  }
  throw new Error('expected the handshake to be refused')
}

t.test('accepts the RFC 6455 section 1.2 sample handshake and returns what the response needs', async t => {
  const info = validateUpgradeRequest('GET', browserHeaders({
    origin: 'http://example.com',
    'sec-websocket-protocol': 'chat, superchat',
    'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits'
  }))
  t.same(info, {
    key: KEY,
    protocols: ['chat', 'superchat'],
    extensions: 'permessage-deflate; client_max_window_bits',
    origin: 'http://example.com'
  })
})

t.test('optional headers absent give no protocols, no extensions and no origin', async t => {
  t.same(validateUpgradeRequest('GET', browserHeaders()), { key: KEY, protocols: [], extensions: undefined, origin: undefined })
})

t.test('refuses any method but GET with WS_ERR_HANDSHAKE_METHOD and 400', async t => {
  for (const method of ['POST', 'get', 'HEAD', 'CONNECT', undefined]) {
    const err = refusal(method, browserHeaders())
    t.equal(err.code, 'WS_ERR_HANDSHAKE_METHOD', String(method))
    t.equal(err.statusCode, 400)
  }
})

t.test('needs an Upgrade header listing websocket in any case', async t => {
  t.ok(validateUpgradeRequest('GET', browserHeaders({ upgrade: 'WebSocket' })))
  t.ok(validateUpgradeRequest('GET', browserHeaders({ upgrade: 'h2c, WEBSOCKET' })))
  for (const upgrade of [undefined, '', 'h2c', 'websockets', 'web socket', 'websocket/13']) {
    const err = refusal('GET', browserHeaders({ upgrade }))
    t.equal(err.code, 'WS_ERR_HANDSHAKE_UPGRADE', String(upgrade))
    t.equal(err.statusCode, 400)
  }
})

t.test('needs a Connection header with the upgrade token among others, in any case', async t => {
  t.ok(validateUpgradeRequest('GET', browserHeaders({ connection: 'keep-alive, Upgrade' })))
  t.ok(validateUpgradeRequest('GET', browserHeaders({ connection: 'UPGRADE' })))
  t.ok(validateUpgradeRequest('GET', browserHeaders({ connection: ' keep-alive ,,\tupgrade ' })))
  for (const connection of [undefined, 'keep-alive', 'close', 'upgraded', 'Upgrade-Insecure']) {
    const err = refusal('GET', browserHeaders({ connection }))
    t.equal(err.code, 'WS_ERR_HANDSHAKE_CONNECTION', String(connection))
    t.equal(err.statusCode, 400)
  }
})

t.test('needs Sec-WebSocket-Version 13 exactly, refused with 426 and a header to send back', async t => {
  for (const version of [undefined, '8', '12', '14', '13, 13', '013', ' 13x', '']) {
    const err = refusal('GET', browserHeaders({ 'sec-websocket-version': version }))
    t.equal(err.code, 'WS_ERR_HANDSHAKE_VERSION', String(version))
    t.equal(err.statusCode, 426)
  }
  t.ok(validateUpgradeRequest('GET', browserHeaders({ 'sec-websocket-version': ['13'] as unknown as string })), 'one header line given as an array')
  t.equal(WEBSOCKET_VERSION, '13')
  t.same(UNSUPPORTED_VERSION_HEADERS, { 'Sec-WebSocket-Version': '13' })
  t.ok(Object.isFrozen(UNSUPPORTED_VERSION_HEADERS))
})

t.test('needs a Sec-WebSocket-Key that is 16 bytes in base64', async t => {
  t.ok(validateUpgradeRequest('GET', browserHeaders({ 'sec-websocket-key': 'AAAAAAAAAAAAAAAAAAAAAA==' })))
  t.ok(validateUpgradeRequest('GET', browserHeaders({ 'sec-websocket-key': '+/+/+/+/+/+/+/+/+/+/+w==' })))
  const bad = [
    undefined,
    '',
    'dGhlIHNhbXBsZSBub25jZQ', // padding missing
    'dGhlIHNhbXBsZSBub25jZQ=', // padding short
    'dGhlIHNhbXBsZSBub25jZXg=', // 17 bytes
    'dGhlIHNhbXBsZSBub25j', // 15 bytes
    'dGhlIHNhbXBsZSBub25jZQ==x',
    'dGhlIHNhbXBsZSBub25j*Q==', // not base64
    'dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==', // sent twice, joined by Node
    ['dGhlIHNhbXBsZSBub25jZQ==', 'dGhlIHNhbXBsZSBub25jZQ=='] as unknown as string
  ]
  for (const key of bad) {
    const err = refusal('GET', browserHeaders({ 'sec-websocket-key': key }))
    t.equal(err.code, 'WS_ERR_HANDSHAKE_KEY', JSON.stringify(key))
    t.equal(err.statusCode, 400)
  }
})

t.test('checks in the documented order: method, upgrade, connection, version, key', async t => {
  const allWrong = { upgrade: 'h2c', connection: 'close', 'sec-websocket-version': '8', 'sec-websocket-key': 'x' }
  t.equal(refusal('POST', browserHeaders(allWrong)).code, 'WS_ERR_HANDSHAKE_METHOD')
  t.equal(refusal('GET', browserHeaders(allWrong)).code, 'WS_ERR_HANDSHAKE_UPGRADE')
  t.equal(refusal('GET', browserHeaders({ ...allWrong, upgrade: 'websocket' })).code, 'WS_ERR_HANDSHAKE_CONNECTION')
  t.equal(refusal('GET', browserHeaders({ ...allWrong, upgrade: 'websocket', connection: 'upgrade' })).code, 'WS_ERR_HANDSHAKE_VERSION',
    'a client of another protocol version learns which version to use before its key is judged')
  t.equal(refusal('GET', browserHeaders({ 'sec-websocket-key': 'x', 'sec-websocket-protocol': 'a b' })).code, 'WS_ERR_HANDSHAKE_KEY')
})

t.test('refuses a malformed Sec-WebSocket-Protocol with WS_ERR_HANDSHAKE_PROTOCOL and 400', async t => {
  for (const protocol of ['chat, chat', 'a b', 'chat;v=1', '"chat"', 'chat, super/chat']) {
    const err = refusal('GET', browserHeaders({ 'sec-websocket-protocol': protocol }))
    t.equal(err.code, 'WS_ERR_HANDSHAKE_PROTOCOL', protocol)
    t.equal(err.statusCode, 400)
  }
  t.same(validateUpgradeRequest('GET', browserHeaders({ 'sec-websocket-protocol': ' chat ,, superchat ' })).protocols, ['chat', 'superchat'])
})

t.test('a repeated Origin never reads as a missing one', async t => {
  const info = validateUpgradeRequest('GET', browserHeaders({ origin: ['https://a.example', 'https://b.example'] as unknown as string }))
  t.equal(info.origin, 'https://a.example, https://b.example')
})

t.test('repeated extension header lines are joined into one list', async t => {
  const info = validateUpgradeRequest('GET', browserHeaders({ 'sec-websocket-extensions': ['permessage-deflate', 'x-foo'] as unknown as string }))
  t.equal(info.extensions, 'permessage-deflate, x-foo')
})

t.test('tells a WebSocket attempt from plain HTTP by the Upgrade header alone', async t => {
  t.ok(isUpgradeRequest({ upgrade: 'websocket' }))
  t.ok(isUpgradeRequest({ upgrade: 'WebSocket', connection: 'close' }), 'even when the rest is broken')
  t.ok(isUpgradeRequest({ upgrade: 'h2c, websocket' }))
  t.notOk(isUpgradeRequest({}))
  t.notOk(isUpgradeRequest({ upgrade: 'h2c' }))
  t.notOk(isUpgradeRequest({ connection: 'upgrade' }))
})

/** Send raw request bytes to a real Node HTTP server and run the validator on what Node parsed. */
async function validateOverTheWire (rawHeaders: string): Promise<{ method: string | undefined, result: unknown }> {
  const server = createServer()
  const seen = new Promise<{ method: string | undefined, result: unknown }>(resolve => {
    server.on('upgrade', (req: IncomingMessage, socket) => {
      let result: unknown
      try { result = validateUpgradeRequest(req.method, req.headers) } catch (err) { result = (err as WebSocketError).code }
      socket.destroy()
      resolve({ method: req.method, result })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const client = connect(port, '127.0.0.1')
  client.on('error', () => {})
  client.write(`GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n${rawHeaders}\r\n`)
  try { return await seen } finally { client.destroy(); server.close() }
}

t.test('works on headers exactly as Node parses them off a real socket', async t => {
  const ok = await validateOverTheWire(
    'Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\nOrigin: http://example.com\r\n')
  t.same(ok.result, { key: KEY, protocols: ['chat', 'superchat'], extensions: undefined, origin: 'http://example.com' },
    'two Sec-WebSocket-Protocol lines make one list')
  const dup = await validateOverTheWire(
    'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n')
  t.equal(dup.result, 'WS_ERR_HANDSHAKE_KEY', 'a key sent twice is refused')
})
