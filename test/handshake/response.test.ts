import t from 'tap'
import { request, type IncomingMessage } from 'node:http'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { buildHttpResponse, buildSwitchingProtocols } from '../../lib/handshake/response'

const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

t.test('the 101 response carries exactly the required headers when nothing was negotiated', async t => {
  t.equal(buildSwitchingProtocols(ACCEPT).toString('latin1'),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`)
})

t.test('the 101 response adds the selected subprotocol, the extensions and extra headers in order', async t => {
  const bytes = buildSwitchingProtocols(ACCEPT, 'chat', 'permessage-deflate; server_no_context_takeover', [
    ['Set-Cookie', ['a=1; HttpOnly', 'b=2']],
    ['X-Request-Id', 'abc'],
    ['X-Count', 3 as unknown as string]
  ])
  t.equal(bytes.toString('latin1'),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n` +
    'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n' +
    'Set-Cookie: a=1; HttpOnly\r\nSet-Cookie: b=2\r\nX-Request-Id: abc\r\nX-Count: 3\r\n\r\n')
})

t.test('empty protocol and extensions values are left out rather than sent empty', async t => {
  const text = buildSwitchingProtocols(ACCEPT, '', '').toString('latin1')
  t.notMatch(text, /Sec-WebSocket-Protocol|Sec-WebSocket-Extensions/)
})

t.test('extra headers cannot override what the handshake owns, nor describe a body or a kept-alive connection on a 101', async t => {
  const text = buildSwitchingProtocols(ACCEPT, undefined, undefined, [
    ['connection', 'close'], ['UPGRADE', 'h2c'], ['Sec-WebSocket-Accept', 'forged'], ['sec-websocket-protocol', 'evil'],
    ['Sec-WebSocket-Extensions', 'x'], ['Content-Length', '5'], ['Transfer-Encoding', 'chunked'], ['X-Kept', 'yes'],
    ['content-type', 'text/html'], ['Keep-Alive', 'timeout=5']
  ]).toString('latin1')
  t.equal(text, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${ACCEPT}\r\nX-Kept: yes\r\n\r\n`)
})

t.test('a CR or LF in any header value or name is refused instead of splitting the response', async t => {
  const invalid = { name: 'WebSocketError', code: 'WS_ERR_INVALID_HEADER' }
  t.throws(() => buildSwitchingProtocols(ACCEPT, 'chat\r\nX-Evil: 1'), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT, undefined, 'permessage-deflate\n'), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT + '\r\n\r\nHTTP/1.1 200 OK'), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT, undefined, undefined, [['Set-Cookie', ['ok=1', 'a=1\r\nX-Evil: 1']]]), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT, undefined, undefined, [['X-Evil\r\nA', 'b']]), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT, undefined, undefined, [['X-Nul', 'a\0b']]), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT, undefined, undefined, [['X-Snow', '\u2603']]), invalid)
  t.throws(() => buildSwitchingProtocols(ACCEPT, undefined, undefined, [['X-Bad', [1 as unknown as string]]]), invalid)
  t.throws(() => buildHttpResponse(403, { 'X-Reason': 'no\rway' }, ''), invalid)
  t.throws(() => buildHttpResponse(403, { 'Bad Name': 'x' }, ''), invalid)
})

t.test('a refusal has the status line, given headers, computed length, Connection: close and the body', async t => {
  const body = JSON.stringify({ statusCode: 403, error: 'Forbidden', message: 'Origin not allowed' })
  const text = buildHttpResponse(403, { 'Content-Type': 'application/json; charset=utf-8', 'X-Trace': ['1', '2'] }, body).toString('latin1')
  t.equal(text, 'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json; charset=utf-8\r\nX-Trace: 1\r\nX-Trace: 2\r\n' +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
})

t.test('a refusal counts body bytes, not characters, and defaults a text body to text/plain', async t => {
  const bytes = buildHttpResponse(400, {}, 'clé ✓')
  const text = bytes.toString('utf8')
  t.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(text, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/)
  t.match(text, /\r\nContent-Length: 8\r\n/)
  t.ok(bytes.subarray(bytes.length - 8).equals(Buffer.from('clé ✓')))
})

t.test('a 426 refusal carries the supported version and a number header value', async t => {
  const text = buildHttpResponse(426, { 'Sec-WebSocket-Version': '13', 'Retry-After': 5 }, Buffer.alloc(0)).toString('latin1')
  t.equal(text, 'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nRetry-After: 5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
})

t.test('given framing headers are replaced by the computed ones', async t => {
  const text = buildHttpResponse(500, { 'content-length': '999', Connection: 'keep-alive', 'Transfer-Encoding': 'chunked' }, 'oops').toString('latin1')
  t.equal(text, 'HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops')
})

t.test('204 and 304 go out without a body or Content-Length, unknown statuses with a generic phrase', async t => {
  t.equal(buildHttpResponse(204, {}, 'ignored').toString('latin1'), 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n')
  t.equal(buildHttpResponse(304, {}, '').toString('latin1'), 'HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n')
  t.match(buildHttpResponse(599, {}, '').toString('latin1'), /^HTTP\/1\.1 599 Unknown\r\n/)
})

t.test('informational and impossible status codes are refused', async t => {
  for (const code of [101, 100, 199, 1000, 0, -1, 403.5, NaN]) {
    t.throws(() => buildHttpResponse(code, {}, ''), { code: 'WS_ERR_INVALID_OPTION' }, String(code))
  }
})

/** Serve `bytes` raw to one Node HTTP client request over 127.0.0.1 and report what it parsed. */
async function clientSees (bytes: Buffer): Promise<{ kind: 'upgrade' | 'response', res: IncomingMessage, body: string }> {
  const server = createServer((socket: Socket) => {
    socket.once('data', () => { socket.end(bytes) })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  try {
    return await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: { Connection: 'Upgrade', Upgrade: 'websocket' } })
      req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ kind: 'upgrade', res, body: '' }) })
      req.on('response', res => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { body += c })
        res.on('end', () => resolve({ kind: 'response', res, body }))
      })
      req.on('error', reject)
      req.end()
    })
  } finally {
    server.close()
  }
}

t.test('Node\'s HTTP client reads the 101 bytes as a completed upgrade with all headers', async t => {
  const seen = await clientSees(buildSwitchingProtocols(ACCEPT, 'chat', undefined, [['Set-Cookie', ['a=1', 'b=2']]]))
  t.equal(seen.kind, 'upgrade')
  t.equal(seen.res.statusCode, 101)
  t.equal(seen.res.headers['sec-websocket-accept'], ACCEPT)
  t.equal(seen.res.headers['sec-websocket-protocol'], 'chat')
  t.same(seen.res.headers['set-cookie'], ['a=1', 'b=2'])
})

t.test('Node\'s HTTP client reads a refusal as a complete response with its body', async t => {
  const seen = await clientSees(buildHttpResponse(403, { 'Content-Type': 'application/json' }, '{"error":"Forbidden"}'))
  t.equal(seen.kind, 'response')
  t.equal(seen.res.statusCode, 403)
  t.equal(seen.res.statusMessage, 'Forbidden')
  t.equal(seen.res.headers.connection, 'close')
  t.equal(seen.body, '{"error":"Forbidden"}')
})
