import t from 'tap'
import { extensionsForOffer, deflateExtensions, noExtensions } from '../../lib/handshake/client-extensions'

t.test('an offer written out by hand is sent as written and judged by its permessage-deflate element', async t => {
  const header = 'x-other, permessage-deflate; server_no_context_takeover; client_max_window_bits=10'
  const ext = extensionsForOffer(header)
  t.equal(ext.offer(), header)
  const agreed = ext.accept('permessage-deflate; server_no_context_takeover; client_max_window_bits=9', 1024)
  t.equal(agreed.header, 'permessage-deflate; server_no_context_takeover; client_max_window_bits=9')
  t.ok(agreed.deflate !== null, 'a codec for the connection')
  // RFC 7692 section 7.1.1.1: the offered server_no_context_takeover must be echoed
  t.throws(() => ext.accept('permessage-deflate', 1024), { code: 'WS_ERR_CLIENT_EXTENSION' })
  t.same(ext.accept(undefined, 1024), { header: '', deflate: null }, 'a declined offer: no extension')
})

t.test('an offer without a valid permessage-deflate element, or one that does not parse, accepts no extension', async t => {
  for (const header of ['x-other', 'permessage-deflate; unknown_param', 'permessage-deflate; a="unterminated']) {
    const ext = extensionsForOffer(header)
    t.equal(ext.offer(), header, 'sent as written, for tests of the server declining it')
    t.same(ext.accept(undefined, 1024), { header: '', deflate: null })
    t.throws(() => ext.accept('permessage-deflate', 1024), { code: 'WS_ERR_CLIENT_EXTENSION' }, header)
  }
})

t.test('deflateExtensions validates its options at once, and noExtensions refuses any answer', async t => {
  t.throws(() => deflateExtensions({ level: 12 }), { code: 'WS_ERR_INVALID_OPTION' })
  t.equal(noExtensions.offer(), '')
  t.throws(() => noExtensions.accept('permessage-deflate', 1024), { code: 'WS_ERR_CLIENT_EXTENSION' })
})
