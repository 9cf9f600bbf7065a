import t from 'tap'
import { compileOriginPolicy } from '../../lib/handshake/origin'

t.test('an exact entry matches that origin, ignoring case and a default port', async t => {
  const allowed = compileOriginPolicy(['https://example.com', 'http://localhost:3000'])
  for (const origin of ['https://example.com', 'HTTPS://Example.COM', 'https://example.com:443', 'http://localhost:3000', 'http://LOCALHOST:03000']) {
    t.equal(allowed(origin, undefined), true, origin)
  }
  for (const origin of ['http://example.com', 'https://example.com:8443', 'https://example.com.evil.io', 'https://evilexample.com',
    'https://sub.example.com', 'http://localhost', 'http://localhost:3001', 'https://example.com/', 'https://example.com/path',
    'https://user@example.com', 'example.com', '', 'null', 'https://', '://example.com', 'https://example.com:99999x']) {
    t.equal(allowed(origin, undefined), false, JSON.stringify(origin))
  }
})

t.test('default ports are normalised on both sides, per scheme', async t => {
  const allowed = compileOriginPolicy(['https://example.com:443', 'http://a.test:80', 'wss://b.test'])
  t.equal(allowed('https://example.com', undefined), true)
  t.equal(allowed('http://a.test', undefined), true)
  t.equal(allowed('http://a.test:443', undefined), false)
  t.equal(allowed('wss://b.test:443', undefined), true)
})

t.test('a wildcard entry matches subdomains at any depth but not the bare domain', async t => {
  const allowed = compileOriginPolicy(['https://*.example.com'])
  t.equal(allowed('https://app.example.com', undefined), true)
  t.equal(allowed('https://a.b.EXAMPLE.com', undefined), true)
  t.equal(allowed('https://a.example.com:443', undefined), true)
  t.equal(allowed('https://example.com', undefined), false)
  t.equal(allowed('https://.example.com'.slice(0, 8) + 'example.com', undefined), false)
  t.equal(allowed('https://evilexample.com', undefined), false)
  t.equal(allowed('https://app.example.com.evil.io', undefined), false)
  t.equal(allowed('http://app.example.com', undefined), false, 'scheme must match')
  t.equal(allowed('https://app.example.com:8443', undefined), false, 'port must match')
  const withPort = compileOriginPolicy(['http://*.dev.test:8080'])
  t.equal(withPort('http://x.dev.test:8080', undefined), true)
  t.equal(withPort('http://x.dev.test', undefined), false)
})

t.test('\'*\' allows every origin, even a malformed one', async t => {
  const allowed = compileOriginPolicy(['*'])
  for (const origin of ['https://anything.io', 'null', 'garbage', undefined]) t.equal(allowed(origin, undefined), true, String(origin))
})

t.test('the opaque origin "null" is allowed only when listed', async t => {
  t.equal(compileOriginPolicy(['https://a.test'])('null', undefined), false)
  t.equal(compileOriginPolicy(['null'])('null', undefined), true)
})

t.test('IPv6 literal origins compare like others', async t => {
  const allowed = compileOriginPolicy(['http://[::1]:8080', 'http://[::1]'])
  t.equal(allowed('http://[::1]:8080', undefined), true)
  t.equal(allowed('http://[::1]:80', undefined), true)
  t.equal(allowed('http://[::2]:8080', undefined), false)
  t.equal(allowed('http://[::1', undefined), false)
  t.equal(allowed('http://[::1]x', undefined), false)
  t.equal(allowed('http://[::1]:', undefined), false)
})

t.test('a missing Origin is allowed by a list unless requireOrigin is set', async t => {
  t.equal(compileOriginPolicy(['https://a.test'])(undefined, undefined), true)
  t.equal(compileOriginPolicy([])(undefined, undefined), true, 'an empty list admits only clients without Origin')
  t.equal(compileOriginPolicy([])('https://a.test', undefined), false)
  t.equal(compileOriginPolicy(['https://a.test'], { requireOrigin: true })(undefined, undefined), false)
  t.equal(compileOriginPolicy(['*'], { requireOrigin: true })(undefined, undefined), false)
  t.equal(compileOriginPolicy(['https://a.test'], { requireOrigin: true })('https://a.test', undefined), true)
})

t.test('a repeated Origin header, joined by Node, matches no entry', async t => {
  t.equal(compileOriginPolicy(['https://a.test'])('https://a.test, https://evil.test', undefined), false)
})

t.test('a list entry that can never match is refused when the policy is compiled', async t => {
  for (const entry of ['example.com', 'https://example.com/', 'https://example.com/app', 'https://ex*ample.com', 'https://*',
    'https://*.', 'https://a.*.example.com', 'https://*example.com', 'https://*.ex*.com', 'https://example.com:http', '', 'https://[::1']) {
    t.throws(() => compileOriginPolicy([entry]), { name: 'WebSocketError', code: 'WS_ERR_INVALID_OPTION' }, JSON.stringify(entry))
  }
  t.throws(() => compileOriginPolicy([42 as unknown as string]), { code: 'WS_ERR_INVALID_OPTION' })
  t.throws(() => compileOriginPolicy('https://a.test' as unknown as string[]), { code: 'WS_ERR_INVALID_OPTION' })
})

t.test('a function policy gets the origin and the request and its answer is a boolean', async t => {
  const req = { url: '/chat' }
  const seen: unknown[] = []
  const check = compileOriginPolicy<typeof req>((origin, r) => { seen.push([origin, r]); return origin === 'https://ok.test' })
  t.equal(check('https://ok.test', req), true)
  t.equal(check('https://no.test', req), false)
  t.equal(check(undefined, req), false)
  t.same(seen, [['https://ok.test', req], ['https://no.test', req], [undefined, req]], 'called even without an Origin by default')
  const truthy = compileOriginPolicy(() => 1 as unknown as boolean)
  t.equal(truthy('x', undefined), true)
})

t.test('an async function policy resolves to a boolean and its rejection reaches the caller', async t => {
  const check = compileOriginPolicy(async (origin) => origin?.endsWith('.ok.test') ?? false)
  const yes = check('https://a.ok.test', undefined)
  t.ok(yes instanceof Promise)
  t.equal(await yes, true)
  t.equal(await check('https://a.no.test', undefined), false)
  const failing = compileOriginPolicy(async () => { throw new Error('db down') })
  await t.rejects(Promise.resolve(failing('https://a.test', undefined)), /db down/)
})

t.test('with requireOrigin a function policy is not consulted for a missing Origin', async t => {
  let called = false
  const check = compileOriginPolicy(() => { called = true; return true }, { requireOrigin: true })
  t.equal(check(undefined, undefined), false)
  t.notOk(called)
  t.equal(check('https://a.test', undefined), true)
})
