import t from 'tap'
import { count, flag, integerIn, numberIn, positive } from '../../lib/engine/option-checks'

t.test('a value left out takes its default, unchecked, and a valid one is returned as it is', async t => {
  t.equal(positive('a', undefined, 7), 7)
  t.equal(positive('a', 0.5, 7), 0.5)
  t.equal(numberIn('a', undefined, 0, 1, undefined), undefined)
  t.equal(numberIn('a', 0, 0, Infinity, 3), 0)
  t.equal(integerIn('a', 15, 8, 15, undefined), 15)
  t.equal(count('a', 0, 10), 0)
  t.equal(flag('a', undefined, false), false)
  t.equal(flag('a', true, false), true)
})

t.test('a value of the wrong kind or out of range throws WS_ERR_INVALID_OPTION naming the option, what it must be and what it got', async t => {
  const cases: Array<[() => unknown, string]> = [
    [() => positive('closeTimeout', 0, 1), 'closeTimeout must be a positive number, got 0'],
    [() => positive('closeTimeout', Infinity, 1), 'closeTimeout must be a positive number, got Infinity'],
    [() => positive('closeTimeout', '5', 1), 'closeTimeout must be a positive number, got 5'],
    [() => numberIn('reconnect.jitter', 1.5, 0, 1, 0.5), 'reconnect.jitter must be a number from 0 to 1, got 1.5'],
    [() => numberIn('redisAdapter.connectTimeout', -1, 0, Infinity, 1), 'redisAdapter.connectTimeout must be a number >= 0, got -1'],
    [() => numberIn('x', NaN, 0, Infinity, 1), 'x must be a number >= 0, got NaN'],
    [() => integerIn('perMessageDeflate.level', 10, -1, 9, 1), 'perMessageDeflate.level must be an integer from -1 to 9, got 10'],
    [() => integerIn('maxRedirects', 1.5, 0, Number.MAX_SAFE_INTEGER, 0), 'maxRedirects must be an integer >= 0, got 1.5'],
    [() => count('maxFragments', -1, 0), 'maxFragments must be a non-negative integer (0: no limit), got -1'],
    [() => flag('perMessageDeflate.serverNoContextTakeover', 1, false), 'perMessageDeflate.serverNoContextTakeover must be a boolean, got 1'],
    [() => integerIn('a', null, 0, 1, 0), 'a must be an integer from 0 to 1, got null']
  ]
  for (const [fn, message] of cases) t.throws(fn, { code: 'WS_ERR_INVALID_OPTION', message }, message)
})
