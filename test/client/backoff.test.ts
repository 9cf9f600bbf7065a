import t from 'tap'
import { backoffDelay, isRetryable, resolveBackoff, retryAfterMs } from '../../lib/client/backoff'
import { handshakeRefusal } from '../../lib/client/refusal'
import { wsError } from '../../lib/errors'
import { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'

function response (statusCode: number, headers: Record<string, string> = {}): IncomingMessage {
  const res = new IncomingMessage(new Socket())
  res.statusCode = statusCode
  res.headers = headers
  return res
}

t.test('defaults: unlimited retries from 1 s doubling up to 30 s with half of each wait random', async t => {
  t.same(resolveBackoff(), { retries: Infinity, minDelay: 1000, maxDelay: 30_000, factor: 2, jitter: 0.5 })
  t.same(resolveBackoff({ retries: 3, minDelay: undefined }), { retries: 3, minDelay: 1000, maxDelay: 30_000, factor: 2, jitter: 0.5 })
})

t.test('the wait grows by factor per attempt and stops at maxDelay', async t => {
  const b = resolveBackoff({ minDelay: 100, maxDelay: 1000, factor: 3, jitter: 0 })
  t.same([1, 2, 3, 4, 5, 50].map(n => backoffDelay(n, b)), [100, 300, 900, 1000, 1000, 1000])
})

t.test('jitter takes a random share off the wait, never more than jitter of it', async t => {
  const b = resolveBackoff({ minDelay: 1000, maxDelay: 1000, jitter: 0.5 })
  t.equal(backoffDelay(1, b, () => 0), 1000)
  t.equal(backoffDelay(1, b, () => 0.999999), 500)
  t.equal(backoffDelay(1, b, () => 0.5), 750)
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(3, b)
    if (d < 500 || d > 1000) t.fail(`delay ${d} out of [500, 1000]`)
  }
  t.equal(backoffDelay(1, resolveBackoff({ minDelay: 0, maxDelay: 0 })), 0)
})

t.test('out-of-range settings are refused', async t => {
  for (const bad of [{ retries: -1 }, { retries: 1.5 }, { minDelay: -1 }, { minDelay: NaN }, { maxDelay: 10, minDelay: 20 },
    { maxDelay: Infinity }, { factor: 0.9 }, { jitter: 1.1 }, { jitter: -0.1 }]) {
    t.throws(() => resolveBackoff(bad), { code: 'WS_ERR_INVALID_OPTION' }, JSON.stringify(bad))
  }
})

t.test('4xx refusals are final except 408 and 429; 5xx, network and handshake errors are retried', async t => {
  const refusal = (status: number): unknown => handshakeRefusal('WS_ERR_CLIENT_HANDSHAKE', 'x', response(status))
  for (const s of [400, 401, 403, 404, 407, 426]) t.notOk(isRetryable(refusal(s)), `${s} final`)
  for (const s of [408, 429, 500, 502, 503, 504]) t.ok(isRetryable(refusal(s)), `${s} retried`)
  t.notOk(isRetryable(handshakeRefusal('WS_ERR_CLIENT_REDIRECTS', 'x', response(302))), 'a redirect over the limit is final')
  for (const code of ['WS_ERR_CLIENT_URL', 'WS_ERR_CLIENT_EXTENSION', 'WS_ERR_INVALID_OPTION', 'WS_ERR_INVALID_HEADER'] as const) {
    t.notOk(isRetryable(wsError(code)), `${code} final`)
  }
  t.ok(isRetryable(wsError('WS_ERR_CLIENT_TIMEOUT')))
  t.ok(isRetryable(wsError('WS_ERR_CLIENT_HANDSHAKE', 'Sec-WebSocket-Accept does not match')))
  t.ok(isRetryable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })))
})

t.test('Retry-After is read as seconds or as an HTTP date', async t => {
  const now = Date.parse('2030-01-01T00:00:00Z')
  const refusal = (headers: Record<string, string>): unknown => handshakeRefusal('WS_ERR_CLIENT_HANDSHAKE', 'x', response(503, headers))
  t.equal(retryAfterMs(refusal({ 'retry-after': '7' }), now), 7000)
  t.equal(retryAfterMs(refusal({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), now), 5000)
  t.equal(retryAfterMs(refusal({ 'retry-after': 'Mon, 31 Dec 2029 00:00:00 GMT' }), now), 0)
  t.equal(retryAfterMs(refusal({ 'retry-after': 'soon' }), now), undefined)
  t.equal(retryAfterMs(refusal({}), now), undefined)
  t.equal(retryAfterMs(new Error('x')), undefined)
})
