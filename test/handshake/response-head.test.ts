// readResponseHead: the response head injectWS reads from the bytes our server writes. Fed the
// real 101 and refusals the handshake builds, cut at every byte.
import t from 'tap'
import { readResponseHead, MAX_RESPONSE_HEAD } from '../../lib/handshake/response-head'
import { buildSwitchingProtocols, buildHttpResponse } from '../../lib/handshake/response'
import { computeAccept } from '../../lib/handshake/accept'

t.test('a 101 with frames behind it is read at every split, the frames kept as the rest', async t => {
  const head = buildSwitchingProtocols(computeAccept('dGhlIHNhbXBsZSBub25jZQ=='), 'chat', 'permessage-deflate')
  const frames = Buffer.from([0x81, 0x02, 0x68, 0x69])
  const bytes = Buffer.concat([head, frames])
  for (let cut = 0; cut < bytes.length; cut++) {
    const partial = readResponseHead(bytes.subarray(0, cut))
    if (cut < head.length) {
      if (partial !== null) return t.fail(`a head was read from ${cut} of ${head.length} bytes`)
      continue
    }
    const whole = readResponseHead(bytes.subarray(0, cut))
    if (whole === null) return t.fail(`no head at ${cut} bytes`)
    if (!whole.rest.equals(frames.subarray(0, cut - head.length))) return t.fail(`rest wrong at ${cut}`)
  }
  const read = readResponseHead(bytes)
  t.equal(read?.status, 101)
  t.equal(read?.fields['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  t.equal(read?.fields['sec-websocket-protocol'], 'chat')
  t.equal(read?.fields.upgrade, 'websocket')
})

t.test('a refusal keeps its status, joins repeated fields and leaves its body as the rest', async t => {
  const bytes = Buffer.concat([buildHttpResponse(403, { 'x-a': ['1', '2'] }, 'no'), Buffer.alloc(0)])
  const read = readResponseHead(bytes)
  t.equal(read?.status, 403)
  t.equal(read?.fields['x-a'], '1, 2')
  t.equal(read?.rest.toString(), 'no')
})

t.test('a head past 16 KiB or a malformed status line fails with WS_ERR_CLIENT_HANDSHAKE', async t => {
  const big = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nx: ' + 'a'.repeat(MAX_RESPONSE_HEAD))
  t.throws(() => readResponseHead(big), { code: 'WS_ERR_CLIENT_HANDSHAKE', message: /too large/ })
  for (const line of ['HTTP/2 101 x', 'HTTP/1.1 1x1 x', 'HTTP/1.1 101x', 'ICY 200 OK']) {
    t.throws(() => readResponseHead(Buffer.from(line + '\r\n\r\n')), { code: 'WS_ERR_CLIENT_HANDSHAKE', message: /status line/ }, line)
  }
  t.equal(readResponseHead(Buffer.from('HTTP/1.1 204\r\n\r\n'))?.status, 204, 'the reason phrase is optional')
  t.same(readResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nno colon\r\n: no name\r\n\r\n'))?.fields, {}, 'lines without a field name are skipped')
})
