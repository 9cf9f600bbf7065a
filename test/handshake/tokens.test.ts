import t from 'tap'
import fc from 'fast-check'
import { hasToken, isToken, isValidHeaderValue, parseTokenList } from '../../lib/handshake/tokens'
import { assertLinearWork } from '../helpers/work'

t.test('splits a list on commas and trims spaces and tabs around each element', async t => {
  t.same(parseTokenList('a, b ,\tc\t,d'), ['a', 'b', 'c', 'd'])
  t.same(parseTokenList('  keep-alive ,  Upgrade  '), ['keep-alive', 'Upgrade'])
  t.same(parseTokenList('single'), ['single'])
})

t.test('ignores empty list elements as RFC 7230 section 7 requires', async t => {
  t.same(parseTokenList('a,,b'), ['a', 'b'])
  t.same(parseTokenList(',a, ,b,'), ['a', 'b'])
  t.same(parseTokenList(' , ,, '), [])
  t.same(parseTokenList(''), [])
})

t.test('treats several header lines as one list, in order', async t => {
  t.same(parseTokenList(['a, b', 'c', '', ' d ,e']), ['a', 'b', 'c', 'd', 'e'])
  t.same(parseTokenList([]), [])
  t.same(parseTokenList(undefined), [])
})

t.test('keeps inner whitespace and non-token characters for the caller to judge', async t => {
  t.same(parseTokenList('a b, c/d, "q"'), ['a b', 'c/d', '"q"'])
})

t.test('finds a token ASCII case-insensitively, as a whole element only', async t => {
  t.ok(hasToken('keep-alive, Upgrade', 'upgrade'))
  t.ok(hasToken('UPGRADE', 'upgrade'))
  t.ok(hasToken('WebSocket', 'websocket'))
  t.ok(hasToken('websocket', 'WEBSOCKET'))
  t.ok(hasToken(['keep-alive', ' upgrade '], 'upgrade'), 'in a later header line')
  t.notOk(hasToken(['keep-alive', 'close'], 'upgrade'), 'in no header line')
  t.notOk(hasToken('upgrades', 'upgrade'), 'a longer element does not match')
  t.notOk(hasToken('upgrad', 'upgrade'), 'a prefix does not match')
  t.notOk(hasToken('websocket/13', 'websocket'))
  t.notOk(hasToken('keep-alive', 'upgrade'))
  t.notOk(hasToken('', 'upgrade'))
  t.notOk(hasToken(undefined, 'upgrade'))
  t.notOk(hasToken('a[', 'a{'), '[ and { differ by 0x20 but are not letters')
  t.ok(hasToken('a-1', 'A-1'))
  t.notOk(hasToken('upgr@de', 'upgr`de'), '@ and ` differ by 0x20 but are not letters')
})

t.test('recognises RFC 7230 tokens and nothing else', async t => {
  for (const ok of ['websocket', 'chat.v2', "!#$%&'*+-.^_`|~", 'A9z']) t.ok(isToken(ok), ok)
  for (const bad of ['', 'a b', 'a,b', 'a;b', '"a"', 'a/b', 'a=b', 'é', 'a\tb', '(a)', '{a}', 'a\x7f']) t.notOk(isToken(bad), JSON.stringify(bad))
})

t.test('accepts field values with visible ASCII, spaces, tabs and obs-text, and rejects controls', async t => {
  t.ok(isValidHeaderValue('permessage-deflate; client_max_window_bits'))
  t.ok(isValidHeaderValue('a\tb c\xe9'))
  t.ok(isValidHeaderValue(''))
  for (const bad of ['a\r\nSet-Cookie: x=1', 'a\nb', 'a\rb', 'a\0b', 'a\x7fb', 'snow\u2603']) t.notOk(isValidHeaderValue(bad), JSON.stringify(bad))
})

const tchar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcxyzABCXYZ'.split(''))
const token = fc.string({ unit: tchar, minLength: 1, maxLength: 12 })
const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 })

t.test('parsing a joined list of tokens gives the tokens back, whatever the whitespace and empty elements', async t => {
  fc.assert(fc.property(fc.array(fc.tuple(token, ows, ows, fc.nat(2)), { maxLength: 20 }), items => {
    const value = items.map(([tok, before, after, empties]) => before + tok + after + ','.repeat(empties)).join(',')
    const parsed = parseTokenList(value)
    const tokens = items.map(([tok]) => tok)
    if (JSON.stringify(parsed) !== JSON.stringify(tokens)) return false
    return tokens.every(tok => hasToken(value, tok.toUpperCase()) && hasToken(value, tok))
  }), { numRuns: 2000 })
  fc.assert(fc.property(fc.array(token, { maxLength: 20 }), tokens => {
    return JSON.stringify(parseTokenList(tokens.join(', '))) === JSON.stringify(tokens)
  }), { numRuns: 1000 })
  t.pass()
})

// The shapes that made regex splitting quadratic or exponential (GHSA-6fc8-4gx4-v693), n characters each.
const adversarial: Array<[string, (n: number) => string]> = [
  ['a run of spaces', n => 'b' + ' '.repeat(n) + 'x'],
  ['space-comma pairs', n => 'a' + ' ,'.repeat(n / 2)],
  ['comma-tab pairs', n => ',\t'.repeat(n / 2) + 'z'],
  ['space-separated letters', n => 'x '.repeat(n / 2)],
  ['many short elements', n => 'a,'.repeat(n / 2)]
]

t.test('a 1 MB adversarial header is parsed, and websocket is not found in it', async t => {
  for (const [label, make] of adversarial) {
    const value = make(1 << 20)
    t.notOk(hasToken(value, 'websocket'), label)
    t.ok(parseTokenList(value).length >= 1)
  }
})

t.test('adversarial headers cost work linear in their length (characters read, not time)', async t => {
  for (const [label, make] of adversarial) {
    assertLinearWork(t, `${label}, parsed`, make, value => parseTokenList(value))
    assertLinearWork(t, `${label}, searched`, make, value => hasToken(value, 'websocket'))
  }
})
