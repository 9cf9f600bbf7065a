// The RFC 8441 handshake helpers, byte for byte: what an extended CONNECT must carry, the 200
// that accepts it, the client's request headers and its checks of the answer.
import t from 'tap'
import { buildExtendedConnectHeaders, buildHttp2Accept, isExtendedConnect, validateExtendedConnect, validateHttp2Accept } from '../../lib/handshake/http2'
import { computeAccept } from '../../lib/handshake/accept'

const base = { ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/chat', ':scheme': 'https', ':authority': 'a.example', 'sec-websocket-version': '13' }

t.test('an extended CONNECT is recognised by its method and :protocol only', async t => {
  t.ok(isExtendedConnect(base))
  t.notOk(isExtendedConnect({ ...base, ':protocol': 'webtransport' }))
  t.notOk(isExtendedConnect({ ':method': 'CONNECT', ':authority': 'a:443' }), "a proxy's CONNECT")
  t.notOk(isExtendedConnect({ ...base, ':method': 'GET' }))
})

t.test('validateExtendedConnect: version 13 required, subprotocols parsed, a key kept only when well-formed', async t => {
  t.same(validateExtendedConnect({ ...base, 'sec-websocket-protocol': 'a, b', origin: 'https://a.example', 'sec-websocket-extensions': 'permessage-deflate' }),
    { key: '', protocols: ['a', 'b'], extensions: 'permessage-deflate', origin: 'https://a.example' })
  t.throws(() => validateExtendedConnect({ ...base, 'sec-websocket-version': undefined }), { code: 'WS_ERR_HANDSHAKE_VERSION', statusCode: 426 })
  t.throws(() => validateExtendedConnect({ ...base, 'sec-websocket-version': '8' }), { code: 'WS_ERR_HANDSHAKE_VERSION' })
  t.throws(() => validateExtendedConnect({ ...base, 'sec-websocket-protocol': 'a, a' }), { code: 'WS_ERR_HANDSHAKE_PROTOCOL' })
  const key = 'dGhlIHNhbXBsZSBub25jZQ=='
  t.equal(validateExtendedConnect({ ...base, 'sec-websocket-key': key }).key, key)
  t.equal(validateExtendedConnect({ ...base, 'sec-websocket-key': 'short' }).key, '', 'a malformed key is ignored, never echoed')
})

t.test('buildHttp2Accept: a 200 with the negotiated headers, extra headers lower-cased, forbidden ones dropped', async t => {
  t.same(buildHttp2Accept(), { ':status': 200 })
  t.same(buildHttp2Accept('chat', 'permessage-deflate', [['Set-Cookie', ['a=1', 'b=2']], ['X-One', 1], ['x-one', '2'],
    ['Connection', 'keep-alive'], ['Upgrade', 'websocket'], ['Transfer-Encoding', 'chunked'], ['Content-Length', '5'],
    ['Sec-WebSocket-Accept', 'forged']]),
  { ':status': 200, 'sec-websocket-protocol': 'chat', 'sec-websocket-extensions': 'permessage-deflate', 'set-cookie': ['a=1', 'b=2'], 'x-one': ['1', '2'] })
  t.equal(buildHttp2Accept(undefined, undefined, undefined, computeAccept('dGhlIHNhbXBsZSBub25jZQ=='))['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  t.throws(() => buildHttp2Accept(undefined, undefined, [['x-a', 'v\r\nx-b: injected']]), { code: 'WS_ERR_INVALID_HEADER' })
  t.throws(() => buildHttp2Accept(undefined, undefined, [['bad name', 'v']]), { code: 'WS_ERR_INVALID_HEADER' })
})

t.test("buildExtendedConnectHeaders: RFC 8441 section 5's pseudo-headers, no connection-specific fields, Host as :authority", async t => {
  const h = buildExtendedConnectHeaders({ secure: false, authority: 'h:8080', path: '/p?q=1' }, {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'k', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'a', Authorization: 'Bearer x'
  })
  t.same(h, { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':authority': 'h:8080', ':path': '/p?q=1', 'sec-websocket-version': '13', 'sec-websocket-protocol': 'a', authorization: 'Bearer x' })
  t.equal(buildExtendedConnectHeaders({ secure: true, authority: 'h', path: '/' }, { Host: 'other.example' })[':authority'], 'other.example')
})

t.test('validateHttp2Accept: one offered subprotocol at most; extensions handed on raw', async t => {
  t.same(validateHttp2Accept({ 'sec-websocket-protocol': 'b', 'sec-websocket-extensions': 'permessage-deflate' }, ['a', 'b']), { protocol: 'b', extensions: 'permessage-deflate' })
  t.same(validateHttp2Accept({}, ['a']), { protocol: '', extensions: undefined })
  t.throws(() => validateHttp2Accept({ 'sec-websocket-protocol': 'c' }, ['a']), { code: 'WS_ERR_CLIENT_HANDSHAKE' })
  t.throws(() => validateHttp2Accept({ 'sec-websocket-protocol': 'a, b' }, ['a', 'b']), { code: 'WS_ERR_CLIENT_HANDSHAKE' })
})
