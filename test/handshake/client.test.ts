import t from 'tap'
import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { computeAccept, generateKey } from '../../lib/handshake/accept'
import { buildClientRequestHeaders, validateServerHandshake } from '../../lib/handshake/client'
import { validateUpgradeRequest } from '../../lib/handshake/request'
import { buildSwitchingProtocols } from '../../lib/handshake/response'
import { selectSubprotocol } from '../../lib/handshake/subprotocol'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

function serverHeaders (extra: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  return { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': ACCEPT, ...extra }
}

function failure (statusCode: number | undefined, headers: IncomingHttpHeaders, offered: string[] = []): string {
  try {
    validateServerHandshake(statusCode, headers, KEY, offered)
  } catch (err) {
    const e = err as { code: string, message: string }
    return `${e.code}: ${e.message}`
  }
  throw new Error('expected the server handshake to be rejected')
}

t.test('request headers carry the handshake fields of RFC 6455 section 4.1', async t => {
  t.same(buildClientRequestHeaders({ key: KEY }), {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': KEY, 'Sec-WebSocket-Version': '13'
  })
})

t.test('request headers add offered subprotocols, extensions, origin and the caller\'s own headers', async t => {
  const headers = buildClientRequestHeaders({
    key: KEY,
    protocols: ['chat.v2', 'chat.v1'],
    extensions: 'permessage-deflate; client_max_window_bits',
    origin: 'https://app.example',
    headers: { Authorization: 'Bearer x', Cookie: ['a=1', 'b=2'], 'X-Count': 7, 'X-Skip': undefined }
  })
  t.same(headers, {
    Authorization: 'Bearer x',
    Cookie: ['a=1', 'b=2'],
    'X-Count': '7',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': 'chat.v2, chat.v1',
    'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    Origin: 'https://app.example'
  })
})

t.test('caller headers cannot override what the handshake owns', async t => {
  const headers = buildClientRequestHeaders({
    key: KEY,
    extensions: '',
    headers: {
      connection: 'close',
      UPGRADE: 'h2c',
      'sec-websocket-key': 'forged',
      'Sec-WebSocket-Version': '8',
      'sec-websocket-protocol': 'sneaky',
      'Sec-WebSocket-Extensions': 'x-foo',
      origin: 'https://kept.example'
    }
  })
  t.same(headers, {
    origin: 'https://kept.example',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13'
  })
  const withOrigin = buildClientRequestHeaders({ key: KEY, origin: 'https://opt.example', headers: { Origin: 'https://hdr.example' } })
  t.equal(withOrigin.Origin, 'https://opt.example')
  t.same(Object.keys(withOrigin).filter(k => k.toLowerCase() === 'origin'), ['Origin'], 'only the option\'s Origin is sent')
})

t.test('invalid or repeated subprotocols are refused before anything is sent', async t => {
  for (const protocols of [['a', 'a'], ['a b'], [''], ['chat', 'x,y'], ['é']]) {
    t.throws(() => buildClientRequestHeaders({ key: KEY, protocols }), { code: 'WS_ERR_INVALID_OPTION' }, JSON.stringify(protocols))
  }
})

t.test('CR, LF and bad header names are refused in every value the client sends', async t => {
  const invalid = { code: 'WS_ERR_INVALID_HEADER' }
  t.throws(() => buildClientRequestHeaders({ key: KEY, origin: 'https://a\r\nX: 1' }), invalid)
  t.throws(() => buildClientRequestHeaders({ key: KEY, extensions: 'x\n' }), invalid)
  t.throws(() => buildClientRequestHeaders({ key: 'k\r\n' }), invalid)
  t.throws(() => buildClientRequestHeaders({ key: KEY, headers: { 'X-A': 'a\rb' } }), invalid)
  t.throws(() => buildClientRequestHeaders({ key: KEY, headers: { Cookie: ['ok', 'a\nb'] } }), invalid)
  t.throws(() => buildClientRequestHeaders({ key: KEY, headers: { 'Bad Name': 'x' } }), invalid)
})

t.test('a valid 101 response gives the selected subprotocol and the raw extensions', async t => {
  t.same(validateServerHandshake(101, serverHeaders(), KEY, []), { protocol: '', extensions: undefined })
  t.same(validateServerHandshake(101, serverHeaders({
    upgrade: 'WebSocket', connection: 'keep-alive, UPGRADE', 'sec-websocket-protocol': 'chat', 'sec-websocket-extensions': 'permessage-deflate'
  }), KEY, ['superchat', 'chat']), { protocol: 'chat', extensions: 'permessage-deflate' })
  t.same(validateServerHandshake(101, serverHeaders({ 'sec-websocket-extensions': ['a', 'b'] as unknown as string }), KEY, []).extensions, 'a, b')
})

t.test('a server that selects no subprotocol although some were offered is accepted with protocol \'\'', async t => {
  t.same(validateServerHandshake(101, serverHeaders(), KEY, ['chat']), { protocol: '', extensions: undefined })
})

t.test('any status but 101 fails the connection', async t => {
  t.equal(failure(200, serverHeaders()), 'WS_ERR_CLIENT_HANDSHAKE: Server response is not a valid WebSocket handshake: expected status 101, got 200')
  t.match(failure(403, serverHeaders()), /got 403$/)
  t.match(failure(undefined, serverHeaders()), /got none$/)
})

t.test('a missing or wrong Upgrade header fails the connection', async t => {
  t.match(failure(101, serverHeaders({ upgrade: undefined })), /Upgrade header missing$/)
  for (const upgrade of ['h2c', 'websockets', 'websocket, h2c', '']) {
    t.match(failure(101, serverHeaders({ upgrade })), /Upgrade header is .*, not websocket$/, upgrade)
  }
})

t.test('a Connection header without the Upgrade token fails the connection', async t => {
  t.match(failure(101, serverHeaders({ connection: undefined })), /Connection header missing$/)
  t.match(failure(101, serverHeaders({ connection: 'keep-alive' })), /Connection header has no Upgrade token$/)
})

t.test('a missing or mismatched Sec-WebSocket-Accept fails the connection', async t => {
  t.match(failure(101, serverHeaders({ 'sec-websocket-accept': undefined })), /Sec-WebSocket-Accept header missing$/)
  for (const accept of [computeAccept('AAAAAAAAAAAAAAAAAAAAAA=='), ACCEPT.toLowerCase(), ACCEPT + ' ', `${ACCEPT}, ${ACCEPT}`]) {
    t.match(failure(101, serverHeaders({ 'sec-websocket-accept': accept })), /does not match the key sent$/, accept)
  }
  t.match(failure(101, serverHeaders({ 'sec-websocket-accept': [ACCEPT] as unknown as string })), /does not match/)
})

t.test('a subprotocol that was not offered, several of them, or one when none was offered fail the connection', async t => {
  t.match(failure(101, serverHeaders({ 'sec-websocket-protocol': 'chat' }), []), /selected subprotocol "chat" but none was offered$/)
  t.match(failure(101, serverHeaders({ 'sec-websocket-protocol': 'evil' }), ['chat']), /selected subprotocol "evil", which was not offered$/)
  t.match(failure(101, serverHeaders({ 'sec-websocket-protocol': 'Chat' }), ['chat']), /not offered/, 'case-sensitive')
  t.match(failure(101, serverHeaders({ 'sec-websocket-protocol': 'chat, superchat' }), ['chat', 'superchat']), /exactly one subprotocol$/)
  t.match(failure(101, serverHeaders({ 'sec-websocket-protocol': '' }), ['chat']), /exactly one subprotocol$/)
})

t.test('client and server helpers complete a real handshake over 127.0.0.1', async t => {
  const server = createServer((_req, res) => { res.writeHead(404).end() })
  server.on('upgrade', (req, socket) => {
    const info = validateUpgradeRequest(req.method, req.headers)
    const protocol = selectSubprotocol(info.protocols, ['chat.v2', 'chat.v1'], req)
    socket.end(buildSwitchingProtocols(computeAccept(info.key), protocol === false ? undefined : protocol, undefined,
      [['X-Origin-Seen', info.origin ?? 'none']]))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const key = generateKey()
  const offered = ['chat.v1', 'chat.v2']
  try {
    const result = await new Promise<{ info: ReturnType<typeof validateServerHandshake>, origin: unknown }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/chat', headers: buildClientRequestHeaders({ key, protocols: offered, origin: 'https://app.example' }) })
      req.on('upgrade', (res, socket) => {
        socket.destroy()
        try { resolve({ info: validateServerHandshake(res.statusCode, res.headers, key, offered), origin: res.headers['x-origin-seen'] }) } catch (err) { reject(err) }
      })
      req.on('response', res => reject(new Error(`status ${res.statusCode}`)))
      req.on('error', reject)
      req.end()
    })
    t.same(result.info, { protocol: 'chat.v2', extensions: undefined }, 'the server\'s preference was selected')
    t.equal(result.origin, 'https://app.example')
  } finally {
    server.close()
  }
})
