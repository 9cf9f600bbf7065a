import t from 'tap'
import { basicAuthorization, isRedirect, parseWebSocketUrl, redirectTarget, sameOrigin } from '../../lib/client/url'

t.test('ws and wss URLs give host, port, authority, Host header and request path', async t => {
  const plain = parseWebSocketUrl('ws://Example.com/chat?room=1')
  t.equal(plain.secure, false)
  t.equal(plain.host, 'example.com')
  t.equal(plain.port, 80)
  t.equal(plain.authority, 'example.com:80')
  t.equal(plain.hostHeader, 'example.com', 'the default port is left out of Host')
  t.equal(plain.path, '/chat?room=1')
  const secure = parseWebSocketUrl(new URL('wss://example.com:8443'))
  t.equal(secure.secure, true)
  t.equal(secure.port, 8443)
  t.equal(secure.hostHeader, 'example.com:8443')
  t.equal(secure.path, '/')
  t.equal(parseWebSocketUrl('wss://h').port, 443)
  const v6 = parseWebSocketUrl('ws://[::1]:9000/x')
  t.equal(v6.host, '::1', 'IPv6 without brackets for net.connect')
  t.equal(v6.authority, '[::1]:9000', 'IPv6 in brackets for CONNECT')
  t.equal(v6.hostHeader, '[::1]:9000')
})

t.test('http and https are aliases of ws and wss, as in browsers', async t => {
  const a = parseWebSocketUrl('http://h:81/p')
  t.equal(a.url.href, 'ws://h:81/p')
  t.equal(a.secure, false)
  const b = parseWebSocketUrl('https://h/p')
  t.equal(b.url.href, 'wss://h/p')
  t.equal(b.port, 443)
})

t.test('other schemes, fragments (even empty) and non-URLs are refused (RFC 6455 section 3)', async t => {
  for (const bad of ['ftp://h/', 'file:///etc/passwd', 'ws://h/#x', 'ws://h/#', 'not a url', 'ws://']) {
    t.throws(() => parseWebSocketUrl(bad), { code: 'WS_ERR_CLIENT_URL' }, bad)
  }
})

t.test('redirects resolve relative Locations and refuse a downgrade from wss to ws', async t => {
  const from = parseWebSocketUrl('wss://a.example/x/y')
  t.equal(redirectTarget(from, '../z?q=1').url.href, 'wss://a.example/z?q=1')
  t.equal(redirectTarget(from, 'https://b.example/').url.href, 'wss://b.example/')
  t.throws(() => redirectTarget(from, 'ws://a.example/'), { code: 'WS_ERR_CLIENT_URL', message: /wss: to ws:/ })
  t.throws(() => redirectTarget(from, 'http://a.example/'), { code: 'WS_ERR_CLIENT_URL' })
  t.equal(redirectTarget(parseWebSocketUrl('ws://a.example/'), 'wss://a.example/s').secure, true, 'ws to wss is an upgrade')
  t.throws(() => redirectTarget(from, 'http://[x'), { code: 'WS_ERR_CLIENT_URL' })
  for (const s of [301, 302, 303, 307, 308]) t.ok(isRedirect(s), `${s} is a redirect`)
  for (const s of [300, 304, 305, 200, 101]) t.notOk(isRedirect(s), `${s} is not followed`)
})

t.test('an origin is scheme, host (any case) and port', async t => {
  const a = parseWebSocketUrl('ws://A.example:80/x')
  t.ok(sameOrigin(a, parseWebSocketUrl('ws://a.example/y')))
  t.notOk(sameOrigin(a, parseWebSocketUrl('wss://a.example:80/')))
  t.notOk(sameOrigin(a, parseWebSocketUrl('ws://a.example:81/')))
  t.notOk(sameOrigin(a, parseWebSocketUrl('ws://b.example/')))
})

t.test('credentials in a URL become a Basic authorization, percent-decoded', async t => {
  t.equal(basicAuthorization(new URL('ws://u%3Ax:p%20w@h/')), 'Basic ' + Buffer.from('u:x:p w').toString('base64'))
  t.equal(basicAuthorization(new URL('ws://u@h/')), 'Basic ' + Buffer.from('u:').toString('base64'))
  t.equal(basicAuthorization(new URL('ws://h/')), undefined)
})
