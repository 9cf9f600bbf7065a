import t from 'tap'
import { backoffCeiling, backoffDelay } from '../lib/backoff'

t.test('the wait grows by factor from minDelay, stops at maxDelay, and jitter takes at most its share off', async t => {
  const b = { minDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 }
  t.same([1, 2, 3, 4, 5].map(n => backoffCeiling(n, b)), [100, 200, 400, 800, 1000])
  t.equal(backoffDelay(3, b, () => 0), 400)
  t.equal(backoffDelay(3, b, () => 0.999999), 200)
})

t.test('after thousands of failures the wait is still maxDelay, and a zero minDelay still zero (never NaN)', async t => {
  t.equal(backoffDelay(5000, { minDelay: 10, maxDelay: 5000, factor: 2, jitter: 0 }), 5000)
  t.equal(backoffDelay(5000, { minDelay: 0, maxDelay: 5000, factor: 2, jitter: 0.5 }), 0)
})
