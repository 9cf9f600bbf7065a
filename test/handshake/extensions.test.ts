import t, { type Test } from 'tap'
import fc from 'fast-check'
import { dirname, join } from 'node:path'
import {
  parseExtensionHeader, negotiatePerMessageDeflateServer, answerDeflateOffer, buildPerMessageDeflateOffer,
  acceptPerMessageDeflateResponse, resolveDeflateOptions, formatNegotiatedDeflate,
  type DeflateOptions, type ExtensionOffer, type NegotiatedDeflate
} from '../../lib/handshake/extensions'
import { WebSocketError } from '../../lib/errors'
import { assertLinearWork, charactersRead } from '../helpers/work'

// ws's own extension header codec and permessage-deflate negotiation, for interop checks (its
// package exports hide lib/, so they are loaded by path)
const wsLib = join(dirname(require.resolve('ws/package.json')), 'lib')

const wsExtension = require(join(wsLib, 'extension.js')) as {
  parse: (header: string) => Record<string, Array<Record<string, Array<string | true>>>>
  format: (extensions: Record<string, unknown>) => string
}

const WsPerMessageDeflate = require(join(wsLib, 'permessage-deflate.js')) as new (options: Record<string, unknown>) => {
  offer: () => Record<string, unknown>
  accept: (configurations: Array<Record<string, Array<string | true>>>) => Record<string, number | boolean>
}

/** The defaults before issue 18: a server keeping its compression context both ways. */
const TAKEOVER: DeflateOptions = { serverNoContextTakeover: false, clientNoContextTakeover: false }

function offer (name: string, ...params: Array<[string, string | true]>): ExtensionOffer {
  return { name, params }
}

function throwsWsError (t: Test, fn: () => unknown, code: string, closeCode?: number): void {
  try {
    fn()
    t.fail(`expected ${code}`)
  } catch (err) {
    t.ok(err instanceof WebSocketError, 'a WebSocketError')
    t.equal((err as WebSocketError).code, code)
    if (closeCode !== undefined) t.equal((err as WebSocketError).closeCode, closeCode)
  }
}

const DEFAULT_PARAMS: NegotiatedDeflate = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }

t.test('parsing Sec-WebSocket-Extensions', async t => {
  t.test('an absent or blank header holds no extension', async t => {
    t.same(parseExtensionHeader(undefined), [])
    t.same(parseExtensionHeader(''), [])
    t.same(parseExtensionHeader(' \t , ,'), [])
  })

  t.test('extensions and their parameters come back in order, valueless parameters as true', async t => {
    t.same(parseExtensionHeader('permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo;a=b;c'), [
      offer('permessage-deflate', ['client_max_window_bits', true], ['server_max_window_bits', '10']),
      offer('x-foo', ['a', 'b'], ['c', true])
    ])
  })

  t.test('optional whitespace around every separator is accepted', async t => {
    t.same(parseExtensionHeader(' \tpermessage-deflate \t; \tclient_max_window_bits \t= \t"10" \t;\tx\t ,\t y '), [
      offer('permessage-deflate', ['client_max_window_bits', '10'], ['x', true]),
      offer('y')
    ])
  })

  t.test('several header lines form one list, and empty list elements are ignored (RFC 7230 section 7)', async t => {
    t.same(parseExtensionHeader(['a; b=1', 'c', ',,d,']), [offer('a', ['b', '1']), offer('c'), offer('d')])
  })

  t.test('quoted values are unescaped', async t => {
    t.same(parseExtensionHeader('a; b="10"; c="1\\5"; d="\\t\\o\\k"'), [offer('a', ['b', '10'], ['c', '15'], ['d', 'tok'])])
  })

  t.test('duplicate parameters are kept, so negotiation can decline them', async t => {
    t.same(parseExtensionHeader('a; b=1; b=2; b'), [offer('a', ['b', '1'], ['b', '2'], ['b', true])])
  })

  t.test('names that exist on Object.prototype are plain strings', async t => {
    t.same(parseExtensionHeader('constructor; __proto__=hasOwnProperty; toString'), [
      offer('constructor', ['__proto__', 'hasOwnProperty'], ['toString', true])
    ])
  })

  const malformed = [
    ';', 'a;', 'a; ', 'a b', 'a;=1', 'a;b=', 'a;b= ;c', 'a;b="', 'a;b="x', 'a;b="x\\', 'a;b="a b"', 'a;b=""',
    'a;b="x,y"', 'a;b=c d', 'a;b=c=d', '"a"', 'a,;b', 'é', 'a;é', 'a;b=é', 'a;b="\u0001"', 'a;b="x"y', 'a=1', 'a;b;;c',
    'a\r\nb', 'a;b=1,,"c"'
  ]
  for (const header of malformed) {
    t.test(`the malformed header ${JSON.stringify(header)} is refused with 400`, async t => {
      throwsWsError(t, () => parseExtensionHeader(header), 'WS_ERR_HANDSHAKE_EXTENSION')
      try { parseExtensionHeader(header) } catch (err) { t.equal((err as WebSocketError).statusCode, 400) }
    })
  }

  t.test('any list of offers serialised with any spacing and quoting parses back to itself', async t => {
    const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('')
    const token = fc.string({ unit: fc.constantFrom(...tchars), minLength: 1, maxLength: 8 })
    const ows = fc.constantFrom('', ' ', '\t', ' \t ')
    const param = fc.tuple(token, fc.option(token, { nil: undefined }), fc.boolean(), ows, ows)
    const ext = fc.tuple(token, fc.array(param, { maxLength: 4 }), ows)
    await fc.assert(fc.property(fc.array(ext, { maxLength: 4 }), ows, (exts, sep) => {
      const header = exts.map(([name, params, space]) => space + name + params.map(([k, v, quoted, s1, s2]) => {
        if (v === undefined) return `${s1};${s2}${k}`
        const value = quoted ? '"' + v.replace(/[!-~]/g, c => (c === '"' || c === '\\' || c === 'o') ? '\\' + c : c) + '"' : v
        return `${s1};${s2}${k}${s2}=${s1}${value}`
      }).join('') + space).join(',' + sep)
      const expected = exts.map(([name, params]) => offer(name, ...params.map(([k, v]): [string, string | true] => [k, v ?? true])))
      t.same(parseExtensionHeader(header), expected, header)
    }), { numRuns: 300 })
  })

  // The shapes that broke other parsers (CVE-2020-7662: an unclosed quoted string of escape
  // pairs), each at n characters of body; `ok` says whether the header is valid.
  const adversarial: Array<[string, (n: number) => string, boolean]> = [
    ['unclosed quoted escape pairs', n => 'a; b="' + '\\c'.repeat(n / 2), false],
    ['unclosed quoted string', n => 'a; b="' + 'x'.repeat(n), false],
    ['whitespace inside a name', n => 'a' + ' '.repeat(n) + 'b', false],
    ['leading whitespace', n => ' '.repeat(n) + 'a', true],
    ['many parameters', n => 'a' + ';b'.repeat(n / 2), true],
    ['many extensions', n => 'a' + ',a'.repeat(n / 2), true],
    ['a quoted value ending in escapes', n => 'a; b="' + 'x\\'.repeat(n / 2) + '"', false]
  ]

  t.test('1 MB adversarial headers are rejected or parsed as the grammar says', async t => {
    for (const [label, make, ok] of adversarial) {
      const header = make(1 << 20)
      if (ok) t.doesNotThrow(() => parseExtensionHeader(header), label)
      else throwsWsError(t, () => parseExtensionHeader(header), 'WS_ERR_HANDSHAKE_EXTENSION')
    }
  })

  t.test('adversarial headers cost work linear in their length (characters read, not time)', async t => {
    for (const [label, make] of adversarial) assertLinearWork(t, label, make, header => parseExtensionHeader(header))
    // the measure sees quadratic work: a parser that re-reads the rest of the header at each
    // character fails the same bound
    const quadratic = (header: string): void => { for (let i = 0; i < header.length; i += 64) header.slice(i) }
    const read = charactersRead(() => quadratic('x'.repeat(1 << 16)))
    t.ok(read > 4 * (1 << 16), `a quadratic reader is caught (${read} characters read for ${1 << 16})`)
  })
})

t.test('server negotiation', async t => {
  // these cases are about the parameters themselves: a server keeping its context both ways (the
  // defaults before shared compressors), so that nothing but the offer decides the answer

  t.test('a bare offer is accepted as is, with every default', async t => {
    const r = negotiatePerMessageDeflateServer(parseExtensionHeader('permessage-deflate'), TAKEOVER)
    t.same(r, { params: DEFAULT_PARAMS, header: 'permessage-deflate' })
  })

  t.test('Chrome\'s and Firefox\'s usual offers are accepted', async t => {
    t.same(negotiatePerMessageDeflateServer(parseExtensionHeader('permessage-deflate; client_max_window_bits'), TAKEOVER),
      { params: DEFAULT_PARAMS, header: 'permessage-deflate' })
  })

  t.test('quoted window bits are read like tokens', async t => {
    const r = negotiatePerMessageDeflateServer(parseExtensionHeader('permessage-deflate; client_max_window_bits="10"; server_max_window_bits="9"'), TAKEOVER)
    t.same(r, {
      params: { ...DEFAULT_PARAMS, serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
      header: 'permessage-deflate; server_max_window_bits=9; client_max_window_bits=10'
    })
  })

  t.test('server_no_context_takeover is echoed when offered and sent unasked when forced', async t => {
    t.equal(negotiatePerMessageDeflateServer([offer('permessage-deflate', ['server_no_context_takeover', true])], TAKEOVER)?.header,
      'permessage-deflate; server_no_context_takeover')
    t.equal(negotiatePerMessageDeflateServer([offer('permessage-deflate')], { serverNoContextTakeover: true, clientNoContextTakeover: false })?.header,
      'permessage-deflate; server_no_context_takeover')
  })

  t.test('client_no_context_takeover is accepted when offered and asked for when configured', async t => {
    t.equal(negotiatePerMessageDeflateServer([offer('permessage-deflate', ['client_no_context_takeover', true])], TAKEOVER)?.header,
      'permessage-deflate; client_no_context_takeover')
    t.same(negotiatePerMessageDeflateServer([offer('permessage-deflate')], { serverNoContextTakeover: false, clientNoContextTakeover: true })?.params,
      { ...DEFAULT_PARAMS, clientNoContextTakeover: true })
  })

  t.test('the server answers server_max_window_bits with the smaller of the offer and its own limit', async t => {
    const ask = (offered: string | undefined, own: number | undefined): string | undefined => negotiatePerMessageDeflateServer(
      [offer('permessage-deflate', ...(offered === undefined ? [] : [['server_max_window_bits', offered] as [string, string]]))],
      { ...TAKEOVER, serverMaxWindowBits: own })?.header
    t.equal(ask('10', undefined), 'permessage-deflate; server_max_window_bits=10')
    t.equal(ask('10', 12), 'permessage-deflate; server_max_window_bits=10')
    t.equal(ask('12', 9), 'permessage-deflate; server_max_window_bits=9')
    t.equal(ask(undefined, 11), 'permessage-deflate; server_max_window_bits=11')
    t.equal(ask('8', 15), 'permessage-deflate; server_max_window_bits=8')
  })

  t.test('client_max_window_bits goes in the response only when the client offered it', async t => {
    const ask = (offered: string | true | undefined, own: number | undefined) => negotiatePerMessageDeflateServer(
      [offer('permessage-deflate', ...(offered === undefined ? [] : [['client_max_window_bits', offered] as [string, string | true]]))],
      { ...TAKEOVER, clientMaxWindowBits: own })
    t.same(ask(true, undefined), { params: DEFAULT_PARAMS, header: 'permessage-deflate' })
    t.same(ask(true, 10), { params: { ...DEFAULT_PARAMS, clientMaxWindowBits: 10 }, header: 'permessage-deflate; client_max_window_bits=10' })
    t.same(ask('12', undefined), { params: { ...DEFAULT_PARAMS, clientMaxWindowBits: 12 }, header: 'permessage-deflate; client_max_window_bits=12' })
    t.same(ask('12', 9)?.header, 'permessage-deflate; client_max_window_bits=9')
    t.same(ask('9', 12)?.header, 'permessage-deflate; client_max_window_bits=9')
    t.equal(ask(undefined, 10), null, 'RFC 7692 section 7.1.2.2: cannot ask a client that did not offer it')
  })

  const declined: Array<[string, Array<[string, string | true]>, DeflateOptions, RegExp]> = ([
    ['an unknown parameter', [['foo', true]], {}, /unknown parameter foo/],
    ['an unknown parameter named like a prototype property', [['constructor', true]], {}, /unknown parameter/],
    ['a repeated server_no_context_takeover', [['server_no_context_takeover', true], ['server_no_context_takeover', true]], {}, /duplicate/],
    ['a repeated client_no_context_takeover', [['client_no_context_takeover', true], ['client_no_context_takeover', true]], {}, /duplicate/],
    ['a repeated server_max_window_bits', [['server_max_window_bits', '10'], ['server_max_window_bits', '10']], {}, /duplicate/],
    ['a repeated client_max_window_bits', [['client_max_window_bits', true], ['client_max_window_bits', '10']], {}, /duplicate/],
    ['server_no_context_takeover with a value', [['server_no_context_takeover', '1']], {}, /must not have a value/],
    ['client_no_context_takeover with a value', [['client_no_context_takeover', 'true']], {}, /must not have a value/],
    ['server_max_window_bits without a value', [['server_max_window_bits', true]], {}, /invalid server_max_window_bits/],
    ['server_max_window_bits=7', [['server_max_window_bits', '7']], {}, /invalid/],
    ['server_max_window_bits=16', [['server_max_window_bits', '16']], {}, /invalid/],
    ['server_max_window_bits=0', [['server_max_window_bits', '0']], {}, /invalid/],
    ['server_max_window_bits=08 (leading zero)', [['server_max_window_bits', '08']], {}, /invalid/],
    ['server_max_window_bits=1e1', [['server_max_window_bits', '1e1']], {}, /invalid/],
    ['client_max_window_bits=7', [['client_max_window_bits', '7']], {}, /invalid client_max_window_bits/],
    ['client_max_window_bits=100', [['client_max_window_bits', '100']], {}, /invalid/],
    ['client_max_window_bits=abc', [['client_max_window_bits', 'abc']], {}, /invalid/],
    ['no client_max_window_bits when the server requires it', [], { clientMaxWindowBits: 9 }, /cannot limit its window/]
  ] as Array<[string, Array<[string, string | true]>, DeflateOptions, RegExp]>).map(([what, params, options, reason]) => [what, params, { ...TAKEOVER, ...options }, reason])
  for (const [what, params, options, reason] of declined) {
    t.test(`an offer with ${what} is declined, and the next acceptable offer is taken`, async t => {
      const bad = offer('permessage-deflate', ...params)
      t.match(answerDeflateOffer(bad, resolveDeflateOptions(options)), reason)
      t.equal(negotiatePerMessageDeflateServer([bad], options), null)
      const good = offer('permessage-deflate', ['client_max_window_bits', '11'])
      t.same(negotiatePerMessageDeflateServer([bad, good], options)?.header,
        `permessage-deflate; client_max_window_bits=${Math.min(11, options.clientMaxWindowBits ?? 15)}`)
    })
  }

  t.test('other extensions are skipped and the first acceptable permessage-deflate offer wins', async t => {
    const offers = parseExtensionHeader('x-webkit-deflate-frame, permessage-deflate; foo, permessage-deflate; server_max_window_bits=10, permessage-deflate')
    t.match(answerDeflateOffer(offers[0], resolveDeflateOptions(TAKEOVER)), /not permessage-deflate/)
    t.same(negotiatePerMessageDeflateServer(offers, TAKEOVER)?.header, 'permessage-deflate; server_max_window_bits=10')
    t.equal(negotiatePerMessageDeflateServer(parseExtensionHeader('Permessage-Deflate, x'), TAKEOVER), null, 'names are case-sensitive')
    t.equal(negotiatePerMessageDeflateServer([], TAKEOVER), null)
  })

  t.test('invalid server options are refused with WS_ERR_INVALID_OPTION', async t => {
    throwsWsError(t, () => negotiatePerMessageDeflateServer([], { serverMaxWindowBits: 16 }), 'WS_ERR_INVALID_OPTION')
  })
})

t.test('client offer and acceptance', async t => {
  t.test('the offer always lets the server limit our window, and carries each option asked', async t => {
    t.equal(buildPerMessageDeflateOffer(), 'permessage-deflate; client_max_window_bits')
    t.equal(buildPerMessageDeflateOffer(true), 'permessage-deflate; client_max_window_bits')
    t.equal(buildPerMessageDeflateOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 }),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9')
  })

  t.test('no extension in the response means no compression', async t => {
    t.equal(acceptPerMessageDeflateResponse({}, undefined), null)
    t.equal(acceptPerMessageDeflateResponse({}, ''), null)
    t.equal(acceptPerMessageDeflateResponse(false, undefined), null)
  })

  t.test('acceptable responses give the agreed parameters', async t => {
    t.same(acceptPerMessageDeflateResponse({}, 'permessage-deflate'), DEFAULT_PARAMS)
    t.same(acceptPerMessageDeflateResponse({}, ['permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits="10"']),
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
      'the server may add any of these unasked (RFC 7692 section 7.1.1 and 7.1.2)')
    t.same(acceptPerMessageDeflateResponse({ serverMaxWindowBits: 12, serverNoContextTakeover: true }, 'permessage-deflate; server_max_window_bits=10; server_no_context_takeover'),
      { ...DEFAULT_PARAMS, serverNoContextTakeover: true, serverMaxWindowBits: 10 })
    t.same(acceptPerMessageDeflateResponse({ clientMaxWindowBits: 10, clientNoContextTakeover: true }, 'permessage-deflate; client_max_window_bits=12'),
      { ...DEFAULT_PARAMS, clientNoContextTakeover: true, clientMaxWindowBits: 10 }, 'the client keeps the limits it announced')
  })

  const failures: Array<[string, DeflateOptions | false, string | string[]]> = [
    ['an extension it did not offer', {}, 'x-custom'],
    ['an extension when it offered none', false, 'permessage-deflate'],
    ['permessage-deflate twice', {}, 'permessage-deflate, permessage-deflate'],
    ['permessage-deflate twice on two lines', {}, ['permessage-deflate', 'permessage-deflate']],
    ['permessage-deflate plus another extension', {}, 'permessage-deflate, x-custom'],
    ['an unknown parameter', {}, 'permessage-deflate; foo=1'],
    ['a repeated parameter', {}, 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
    ['client_max_window_bits without a value', {}, 'permessage-deflate; client_max_window_bits'],
    ['client_max_window_bits out of range', {}, 'permessage-deflate; client_max_window_bits=16'],
    ['server_max_window_bits out of range', {}, 'permessage-deflate; server_max_window_bits=7'],
    ['server_max_window_bits larger than offered', { serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=11'],
    ['no server_max_window_bits although offered', { serverMaxWindowBits: 10 }, 'permessage-deflate'],
    ['no server_no_context_takeover although offered', { serverNoContextTakeover: true }, 'permessage-deflate'],
    ['a value on a no_context_takeover parameter', {}, 'permessage-deflate; client_no_context_takeover=1'],
    ['a malformed header', {}, 'permessage-deflate; server_max_window_bits="10']
  ]
  for (const [what, options, response] of failures) {
    t.test(`the client fails the connection (1010) when the server answers with ${what}`, async t => {
      throwsWsError(t, () => acceptPerMessageDeflateResponse(options, response), 'WS_ERR_CLIENT_EXTENSION', 1010)
    })
  }

  t.test('formatNegotiatedDeflate describes agreed parameters as a header value that parses back', async t => {
    const params: NegotiatedDeflate = { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 15 }
    const header = formatNegotiatedDeflate(params)
    t.equal(header, 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10')
    t.same(acceptPerMessageDeflateResponse({}, header), params)
  })
})

t.test('options', async t => {
  t.test('defaults', async t => {
    t.same(resolveDeflateOptions(true), {
      threshold: 1024,
      level: 1,
      memLevel: 8,
      compressor: 'shared',
      decompressor: 'shared',
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: undefined,
      clientMaxWindowBits: undefined,
      concurrencyLimit: 10,
      maxInflatedSize: undefined
    })
  })
  const bad: DeflateOptions[] = [
    { threshold: -1 }, { threshold: 1.5 }, { level: 10 }, { level: -2 }, { memLevel: 0 }, { memLevel: 10 },
    { serverMaxWindowBits: 7 }, { clientMaxWindowBits: 16 }, { concurrencyLimit: 0 }, { maxInflatedSize: 0 },
    { serverNoContextTakeover: 'yes' as unknown as boolean }, { clientNoContextTakeover: 1 as unknown as boolean },
    { level: '1' as unknown as number },
    { compressor: 'dedicated-2kb' as unknown as 'shared' }, { decompressor: 'dedicated-1kb' as unknown as 'shared' },
    { compressor: 'shared', serverNoContextTakeover: false }, { compressor: 'borrowed', serverNoContextTakeover: true },
    { compressor: 'dedicated-8kb', serverNoContextTakeover: true }, { compressor: 'dedicated-8kb', memLevel: 4 },
    { compressor: 'dedicated-8kb', serverMaxWindowBits: 12 }, { decompressor: 'shared', clientNoContextTakeover: false },
    { decompressor: 'dedicated', clientNoContextTakeover: true }
  ]
  for (const options of bad) {
    t.test(`${JSON.stringify(options)} is refused`, async t => {
      throwsWsError(t, () => resolveDeflateOptions(options), 'WS_ERR_INVALID_OPTION')
    })
  }
})

// Every combination of client and server options, through our code on both ends and through
// ws on either end.
const bitsChoices = [undefined, 8, 12, 15]
function allOptions (): DeflateOptions[] {
  const out: DeflateOptions[] = []
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of bitsChoices) {
        for (const clientMaxWindowBits of bitsChoices) out.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits })
      }
    }
  }
  return out
}

function checkRfcInvariants (t: Test, client: DeflateOptions, server: DeflateOptions, header: string, params: NegotiatedDeflate): void {
  const [ext] = parseExtensionHeader(header)
  const names = ext.params.map(p => p[0])
  if (new Set(names).size !== names.length) t.fail(`duplicate in ${header}`)
  const has = (n: string): boolean => names.includes(n)
  const value = (n: string): number => Number(ext.params.find(p => p[0] === n)?.[1])
  if (has('server_no_context_takeover') !== (client.serverNoContextTakeover === true || server.serverNoContextTakeover === true)) t.fail(`snct in ${header}`)
  if (has('client_no_context_takeover') !== (client.clientNoContextTakeover === true || server.clientNoContextTakeover === true)) t.fail(`cnct in ${header}`)
  if (client.serverMaxWindowBits !== undefined && !(value('server_max_window_bits') <= client.serverMaxWindowBits)) t.fail(`smwb in ${header}`)
  if (server.serverMaxWindowBits !== undefined && !(value('server_max_window_bits') <= server.serverMaxWindowBits)) t.fail(`smwb own in ${header}`)
  if (server.clientMaxWindowBits !== undefined && !(value('client_max_window_bits') <= server.clientMaxWindowBits)) t.fail(`cmwb in ${header}`)
  if (has('client_max_window_bits') && !(value('client_max_window_bits') >= 8)) t.fail(`cmwb value in ${header}`)
  const expectedServerBits = Math.min(client.serverMaxWindowBits ?? 15, server.serverMaxWindowBits ?? 15)
  const expectedClientBits = Math.min(client.clientMaxWindowBits ?? 15, server.clientMaxWindowBits ?? 15)
  if (params.serverMaxWindowBits !== expectedServerBits || params.clientMaxWindowBits !== expectedClientBits) t.fail(`bits of ${header}`)
}

t.test('every combination of client and server options negotiates the same parameters on both sides', async t => {
  let count = 0
  for (const client of allOptions()) {
    for (const server of allOptions()) {
      const answer = negotiatePerMessageDeflateServer(parseExtensionHeader(buildPerMessageDeflateOffer(client)), server)
      if (answer === null) { t.fail(`declined ${JSON.stringify([client, server])}`); continue }
      const clientParams = acceptPerMessageDeflateResponse(client, answer.header)
      if (JSON.stringify(clientParams) !== JSON.stringify(answer.params)) t.fail(`${JSON.stringify([client, server])}: ${answer.header}`)
      checkRfcInvariants(t, client, server, answer.header, answer.params)
      count++
    }
  }
  t.equal(count, 64 * 64)
})

function wsParams (p: Record<string, number | boolean>): NegotiatedDeflate {
  return {
    serverNoContextTakeover: p.server_no_context_takeover === true,
    clientNoContextTakeover: p.client_no_context_takeover === true,
    serverMaxWindowBits: typeof p.server_max_window_bits === 'number' ? p.server_max_window_bits : 15,
    clientMaxWindowBits: typeof p.client_max_window_bits === 'number' ? p.client_max_window_bits : 15
  }
}

t.test('a ws client negotiates with our server: ws accepts every answer and agrees on the parameters', async t => {
  let count = 0
  for (const client of allOptions()) {
    for (const server of allOptions()) {
      // ws as a client refuses client_no_context_takeover when told `false` explicitly, though a
      // server may send it unasked (RFC 7692 section 7.1.1.2); leave its booleans at default
      const wsClient = new WsPerMessageDeflate({
        ...client,
        serverNoContextTakeover: client.serverNoContextTakeover === true ? true : undefined,
        clientNoContextTakeover: client.clientNoContextTakeover === true ? true : undefined
      })
      const offerHeader = wsExtension.format({ 'permessage-deflate': [wsClient.offer()] })
      const answer = negotiatePerMessageDeflateServer(parseExtensionHeader(offerHeader), server)
      if (answer === null) { t.fail(`declined ${offerHeader}`); continue }
      const accepted = wsClient.accept(wsExtension.parse(answer.header)['permessage-deflate'])
      const agreed = wsParams(accepted)
      // ws compresses with its own limit when the server did not set one
      if (JSON.stringify(agreed) !== JSON.stringify(answer.params)) t.fail(`${offerHeader} -> ${answer.header}`)
      count++
    }
  }
  t.equal(count, 64 * 64)
})

t.test('our client negotiates with a ws server: whenever ws accepts, we accept its answer and agree', async t => {
  let accepted = 0
  for (const client of allOptions()) {
    for (const server of allOptions()) {
      const wsServer = new WsPerMessageDeflate({ ...server, isServer: true })
      let params: Record<string, number | boolean>
      try {
        params = wsServer.accept(wsExtension.parse(buildPerMessageDeflateOffer(client))['permessage-deflate'])
      } catch {
        continue // ws declines offers that do not meet its options
      }
      const header = wsExtension.format({ 'permessage-deflate': [params] })
      const ours = acceptPerMessageDeflateResponse(client, header)
      if (JSON.stringify(ours) !== JSON.stringify(wsParams(params))) t.fail(`${buildPerMessageDeflateOffer(client)} -> ${header}`)
      accepted++
    }
  }
  t.ok(accepted > 1000, `${accepted} combinations accepted by ws`)
})

t.test('compressor and decompressor modes (issue 18)', async t => {
  const chrome = parseExtensionHeader('permessage-deflate; client_max_window_bits')
  t.test('by default a server drops its context both ways, so zlib streams can be pooled', async t => {
    t.same(negotiatePerMessageDeflateServer(chrome, true), {
      params: { ...DEFAULT_PARAMS, serverNoContextTakeover: true, clientNoContextTakeover: true },
      header: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'
    })
    // ws's client (which offers what browsers offer) accepts that answer
    const ws = new WsPerMessageDeflate({})
    ws.offer()
    t.same(ws.accept(wsExtension.parse('permessage-deflate; server_no_context_takeover; client_no_context_takeover')['permessage-deflate']),
      { server_no_context_takeover: true, client_no_context_takeover: true })
  })
  t.test('borrowed and dedicated compressors keep the context; dedicated sizes limit the window', async t => {
    t.equal(negotiatePerMessageDeflateServer(chrome, { compressor: 'borrowed' })?.header, 'permessage-deflate; client_no_context_takeover')
    t.equal(negotiatePerMessageDeflateServer(chrome, { compressor: 'dedicated-256kb', decompressor: 'dedicated' })?.header, 'permessage-deflate')
    const sized = negotiatePerMessageDeflateServer(chrome, { compressor: 'dedicated-8kb' })
    t.equal(sized?.header, 'permessage-deflate; client_no_context_takeover; server_max_window_bits=10')
    t.equal(sized?.params.serverMaxWindowBits, 10)
    t.equal(resolveDeflateOptions({ compressor: 'dedicated-8kb' }).memLevel, 3)
    t.equal(resolveDeflateOptions({ compressor: 'dedicated-3kb' }).serverMaxWindowBits, 9)
  })
  t.test('serverNoContextTakeover / clientNoContextTakeover given alone choose the mode, as before', async t => {
    t.same(resolveDeflateOptions({ serverNoContextTakeover: false }).compressor, 'dedicated')
    t.same(resolveDeflateOptions({ serverNoContextTakeover: true }).compressor, 'shared')
    t.same(resolveDeflateOptions({ clientNoContextTakeover: false }).decompressor, 'dedicated')
    t.equal(negotiatePerMessageDeflateServer(chrome, { serverNoContextTakeover: false, memLevel: 4 })?.params.serverNoContextTakeover, false)
  })
  t.test('a server that keeps its window honours a client\'s server_no_context_takeover all the same', async t => {
    t.equal(negotiatePerMessageDeflateServer(parseExtensionHeader('permessage-deflate; server_no_context_takeover'), { compressor: 'borrowed', decompressor: 'dedicated' })?.header,
      'permessage-deflate; server_no_context_takeover')
  })
  t.test('a client cannot be given server modes, and its offer is unchanged by the server defaults', async t => {
    throwsWsError(t, () => buildPerMessageDeflateOffer({ compressor: 'shared' }), 'WS_ERR_INVALID_OPTION')
    throwsWsError(t, () => buildPerMessageDeflateOffer({ decompressor: 'dedicated' }), 'WS_ERR_INVALID_OPTION')
    t.equal(buildPerMessageDeflateOffer(true), 'permessage-deflate; client_max_window_bits')
    t.same(acceptPerMessageDeflateResponse(true, 'permessage-deflate'), DEFAULT_PARAMS)
  })
})
