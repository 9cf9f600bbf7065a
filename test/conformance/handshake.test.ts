// RFC 6455 section 4.2: the server's side of the opening handshake, over raw TCP with crafted
// requests. Refusals are checked byte for byte where it matters: status, the headers RFC 6455
// requires, a JSON body, and the server closing the connection after an upgrade it refused.
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { RawClient, clientFrame, RFC_SAMPLE_KEY, RFC_SAMPLE_ACCEPT, handshakeRequest, type HttpResponseHead, type RequestSpec } from '../helpers/raw-client'
import { startServer } from './fixture'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function expectedAccept (key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64')
}

t.test('handshake', async t => {
  const { port } = await startServer(t)

  /** Send `spec`, expect `status` with a JSON body carrying `code` (if given). */
  async function refused (t: Test, spec: RequestSpec | string, status: number, code?: string): Promise<{ client: RawClient, head: HttpResponseHead }> {
    const { client, head } = await RawClient.request(port, t, spec)
    t.equal(head.statusCode, status, `answered ${status}`)
    t.match(head.headers['content-type'], /^application\/json/, 'the body is JSON')
    const body = JSON.parse(head.body.toString()) as { statusCode: number, code?: string }
    t.equal(body.statusCode, status, 'the JSON body names the status')
    if (code !== undefined) t.equal(body.code, code, `the JSON body carries ${code}`)
    return { client, head }
  }

  /** A refused upgrade: the server says so and closes the connection after its response. */
  async function refusedUpgrade (t: Test, spec: RequestSpec | string, status: number, code?: string): Promise<HttpResponseHead> {
    const { client, head } = await refused(t, spec, status, code)
    t.equal(head.headers.connection, 'close', 'the response announces Connection: close')
    await client.waitServerEnd()
    t.equal(client.closedFirstBy, 'server', 'the server closed the connection after its response')
    t.equal(client.unread.length, 0, 'nothing follows the response')
    return head
  }

  t.test('a valid request gets 101 with the Sec-WebSocket-Accept of the RFC 6455 sample key', async t => {
    const { client, head } = await RawClient.request(port, t, {})
    t.equal(head.raw.split('\r\n')[0], 'HTTP/1.1 101 Switching Protocols')
    t.equal(head.headers.upgrade, 'websocket')
    t.match(head.headers.connection, /^upgrade$/i)
    t.equal(head.headers['sec-websocket-accept'], RFC_SAMPLE_ACCEPT)
    t.equal(expectedAccept(RFC_SAMPLE_KEY), RFC_SAMPLE_ACCEPT, 'the oracle agrees with RFC 6455 section 1.3')
    t.equal(head.headers['sec-websocket-protocol'], undefined, 'no subprotocol when none was offered')
    t.equal(head.headers['sec-websocket-extensions'], undefined, 'no extension when none was offered')
    t.equal(head.headers['content-length'], undefined, 'a 101 has no body')
    client.send(0x1, 'open')
    t.equal((await client.readFrame()).payload.toString(), 'open', 'the connection is a WebSocket now')
  })

  t.test('a random key gets base64(SHA-1(key + GUID)) as its accept value', async t => {
    for (let i = 0; i < 5; i++) {
      const key = randomBytes(16).toString('base64')
      const { head } = await RawClient.request(port, t, { headers: { 'Sec-WebSocket-Key': key } })
      t.equal(head.statusCode, 101)
      t.equal(head.headers['sec-websocket-accept'], expectedAccept(key), `accept for ${key}`)
    }
  })

  t.test('mixed-case header names and values and extra tokens are accepted', async t => {
    const request = 'GET / HTTP/1.1\r\nhOsT: 127.0.0.1\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n' +
      `sec-websocket-key: ${RFC_SAMPLE_KEY}\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n`
    const { client, head } = await RawClient.request(port, t, request)
    t.equal(head.statusCode, 101)
    t.equal(head.headers['sec-websocket-accept'], RFC_SAMPLE_ACCEPT)
    client.send(0x2, Buffer.from([1, 2, 3]))
    t.same((await client.readFrame()).payload, Buffer.from([1, 2, 3]))
  })

  t.test('an Upgrade header listing several protocols with websocket among them is accepted', async t => {
    const { head } = await RawClient.request(port, t, { headers: { Upgrade: 'foo/2, websocket', Connection: 'Upgrade, keep-alive' } })
    t.equal(head.statusCode, 101)
  })

  t.test('the server selects its most preferred of the offered subprotocols', async t => {
    const { head } = await RawClient.request(port, t, { path: '/chat', headers: { 'Sec-WebSocket-Protocol': 'chat.v1, chat.v2' } })
    t.equal(head.statusCode, 101)
    t.equal(head.headers['sec-websocket-protocol'], 'chat.v2')
  })

  t.test('a client offering only unknown subprotocols is refused with 400', async t => {
    await refusedUpgrade(t, { path: '/chat', headers: { 'Sec-WebSocket-Protocol': 'chat.v9' } }, 400, 'WS_ERR_HANDSHAKE_PROTOCOL')
  })

  t.test('subprotocols offered to a route that declares none are ignored', async t => {
    const { head } = await RawClient.request(port, t, { headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } })
    t.equal(head.statusCode, 101)
    t.equal(head.headers['sec-websocket-protocol'], undefined, 'RFC 6455 section 4.2.2: no protocol header when none is selected')
  })

  for (const [what, value] of [['a repeated subprotocol', 'chat.v1, chat.v1'], ['a subprotocol that is not a token', 'chat v1']]) {
    t.test(`${what} in Sec-WebSocket-Protocol is refused with 400`, async t => {
      await refusedUpgrade(t, { path: '/chat', headers: { 'Sec-WebSocket-Protocol': value } }, 400, 'WS_ERR_HANDSHAKE_PROTOCOL')
    })
  }

  t.test('empty elements in the Sec-WebSocket-Protocol list are ignored (RFC 7230 section 7)', async t => {
    const { head } = await RawClient.request(port, t, { path: '/chat', headers: { 'Sec-WebSocket-Protocol': 'chat.v1, ,chat.v2' } })
    t.equal(head.statusCode, 101)
    t.equal(head.headers['sec-websocket-protocol'], 'chat.v2')
  })

  t.test('a POST upgrade never switches protocols: Fastify routing answers 404 (no POST route)', async t => {
    await refusedUpgrade(t, { method: 'POST' }, 404)
  })

  for (const method of ['HEAD', 'PUT', 'OPTIONS']) {
    t.test(`a ${method} upgrade never switches protocols`, async t => {
      const { client, head } = await RawClient.request(port, t, { method })
      t.not(head.statusCode, 101)
      t.ok(head.statusCode >= 400 && head.statusCode < 500, `a client error (${head.statusCode}): ${head.raw.split('\r\n')[0]}`)
      await client.waitServerEnd()
      t.equal(client.closedFirstBy, 'server', 'the server closed the connection after its response')
    })
  }

  t.test('an upgrade over HTTP/1.0 is refused with 400', async t => {
    await refusedUpgrade(t, { httpVersion: '1.0' }, 400, 'WS_ERR_HANDSHAKE_METHOD')
  })

  t.test('an Upgrade header without the websocket token is refused with 400', async t => {
    await refusedUpgrade(t, { headers: { Upgrade: 'h2c' } }, 400, 'WS_ERR_HANDSHAKE_UPGRADE')
  })

  t.test('a request with no Upgrade header is plain HTTP: 426 naming websocket, never 101', async t => {
    const { head } = await refused(t, { headers: { Upgrade: null } }, 426, 'WS_ERR_UPGRADE_REQUIRED')
    t.equal(head.headers.upgrade, 'websocket', 'RFC 7231 section 6.5.15: the 426 names the protocol to upgrade to')
  })

  t.test('Upgrade: websocket without the Connection header is refused with 400', async t => {
    await refused(t, { headers: { Connection: null } }, 400, 'WS_ERR_HANDSHAKE_CONNECTION')
  })

  t.test('Upgrade: websocket with a Connection header lacking the upgrade token is refused with 400', async t => {
    await refused(t, { headers: { Connection: 'keep-alive' } }, 400, 'WS_ERR_HANDSHAKE_CONNECTION')
  })

  t.test('a request without Sec-WebSocket-Key is refused with 400', async t => {
    await refusedUpgrade(t, { headers: { 'Sec-WebSocket-Key': null } }, 400, 'WS_ERR_HANDSHAKE_KEY')
  })

  const badKeys: Array<[string, string]> = [
    ['4 bytes', 'AAAAAA=='],
    ['15 bytes', randomBytes(15).toString('base64')],
    ['17 bytes', randomBytes(17).toString('base64')],
    ['16 bytes without padding', randomBytes(16).toString('base64').slice(0, 22)],
    ['not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
    ['empty', '']
  ]
  for (const [what, key] of badKeys) {
    t.test(`a Sec-WebSocket-Key of ${what} is refused with 400`, async t => {
      await refusedUpgrade(t, { headers: { 'Sec-WebSocket-Key': key } }, 400, 'WS_ERR_HANDSHAKE_KEY')
    })
  }

  t.test('two Sec-WebSocket-Key headers are refused with 400, even when both are valid', async t => {
    const key = randomBytes(16).toString('base64')
    await refusedUpgrade(t, { headers: { 'Sec-WebSocket-Key': [key, key] } }, 400, 'WS_ERR_HANDSHAKE_KEY')
  })

  for (const [what, version] of [['8', '8'], ['missing', null], ['14', '14'], ['13 twice', ['13', '13']]] as const) {
    t.test(`Sec-WebSocket-Version ${what} is refused with 426 and Sec-WebSocket-Version: 13`, async t => {
      const versionHeader: string | string[] | null = Array.isArray(version) ? [...version] : version as string | null
      const head = await refusedUpgrade(t, { headers: { 'Sec-WebSocket-Version': versionHeader } }, 426, 'WS_ERR_HANDSHAKE_VERSION')
      t.equal(head.headers['sec-websocket-version'], '13', 'RFC 6455 section 4.4: the versions the server speaks')
    })
  }

  t.test('an upgrade to an unknown path gets 404', async t => {
    await refusedUpgrade(t, { path: '/nowhere' }, 404)
  })

  t.test('an upgrade to a plain (non-websocket) route gets 404, never 101', async t => {
    await refusedUpgrade(t, { path: '/plain' }, 404, 'WS_ERR_NOT_WEBSOCKET_ROUTE')
  })

  t.test('a plain GET on a websocket route gets 426 and the connection stays usable', async t => {
    const plainGet = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
    const { client } = await refused(t, plainGet, 426, 'WS_ERR_UPGRADE_REQUIRED')
    client.write(handshakeRequest({}))
    const head = await client.readHead()
    t.equal(head.statusCode, 101, 'an upgrade on the same keep-alive connection succeeds')
  })

  t.test('the whole handshake sent one byte per write still gets 101', async t => {
    const client = await RawClient.connect(port, t)
    await client.writeInPieces(Buffer.from(handshakeRequest({})), 1)
    const head = await client.readHead()
    t.equal(head.statusCode, 101)
    t.equal(head.headers['sec-websocket-accept'], RFC_SAMPLE_ACCEPT)
  })

  t.test('a frame split between the handshake write and a later write is reassembled', async t => {
    const client = await RawClient.connect(port, t)
    const f = clientFrame(0x1, 'split across the upgrade')
    client.write(Buffer.concat([Buffer.from(handshakeRequest({})), f.subarray(0, 5)]))
    const head = await client.readHead()
    t.equal(head.statusCode, 101)
    client.write(f.subarray(5))
    t.equal((await client.readFrame()).payload.toString(), 'split across the upgrade')
  })

  t.test('frames sent in the same write as the handshake are not lost', async t => {
    const client = await RawClient.connect(port, t)
    client.write(Buffer.concat([Buffer.from(handshakeRequest({})), clientFrame(0x1, 'early')]))
    const head = await client.readHead()
    t.equal(head.statusCode, 101)
    t.equal((await client.readFrame()).payload.toString(), 'early')
  })
})
