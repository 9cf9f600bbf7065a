// Raw HTTP/1.1 responses written straight onto an upgrade socket, where Node's ServerResponse
// is not available: the 101 that completes a handshake and the refusals (400, 403, 426...).
import { STATUS_CODES } from 'node:http'
import { wsError } from '../errors'
import { isToken, isValidHeaderValue } from './tokens'

/** Header values as they may be given; an array becomes one header line per element. */
export type HeaderFieldValue = string | number | readonly string[]

/** Ordered extra headers, e.g. those Fastify hooks set with reply.header() (Set-Cookie...). */
export type HeaderEntries = ReadonlyArray<readonly [string, HeaderFieldValue]>

/**
 * Headers of a 101 that the handshake itself decides, or that cannot describe it; extra headers
 * with these names (a hook's reply.header(), say) are dropped. A 1xx response MUST NOT carry
 * Content-Length or Transfer-Encoding (RFC 7230 section 3.3.1, section 3.3.2); it has no body
 * for a Content-Type to describe, and the connection stops being HTTP, so Keep-Alive means
 * nothing (RFC 7230 section 6.1: a hop-by-hop header).
 */
const OWNED_BY_101 = new Set([
  'upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-protocol',
  'sec-websocket-extensions', 'content-length', 'transfer-encoding', 'content-type', 'keep-alive'
])

/** Headers of a refusal that describe its framing, which this module computes itself. */
const OWNED_BY_REFUSAL = new Set(['content-length', 'connection', 'transfer-encoding'])

/**
 * Serialize one header as `Name: value\r\n` lines. The name must be a token and each value a
 * valid field value (RFC 7230 section 3.2): a CR or LF in a value would let whoever controls it
 * inject headers or a whole response (response splitting), so it throws instead.
 *
 * @throws WebSocketError WS_ERR_INVALID_HEADER
 */
function headerLines (name: string, value: HeaderFieldValue): string {
  if (!isToken(name)) throw wsError('WS_ERR_INVALID_HEADER', `header name ${JSON.stringify(name)}`)
  const values = typeof value === 'object' ? value : [String(value)]
  let out = ''
  for (const v of values) {
    if (typeof v !== 'string' || !isValidHeaderValue(v)) {
      throw wsError('WS_ERR_INVALID_HEADER', `value of ${name} ${JSON.stringify(String(v).slice(0, 64))}`)
    }
    out += `${name}: ${v}\r\n`
  }
  return out
}

/** The 101's lines up to the accept value, the same for every handshake. */
const SWITCHING_PROTOCOLS_HEAD = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: '
/** base64 of a 20-byte SHA-1 digest */
const ACCEPT_SHAPE = /^[A-Za-z0-9+/]{27}=$/

/**
 * The complete `HTTP/1.1 101 Switching Protocols` response (RFC 6455 section 4.2.2 step 5):
 * Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Accept, then Sec-WebSocket-Protocol
 * and Sec-WebSocket-Extensions when given, then `extraHeaders` in order, except those named
 * like a header the handshake owns (Upgrade, Connection, Sec-WebSocket-Accept/-Protocol/
 * -Extensions, Content-Length, Transfer-Encoding, Content-Type, Keep-Alive), which are dropped.
 *
 * @param accept computeAccept() of the request's key
 * @param protocol the selected subprotocol, if any
 * @param extensions the negotiated Sec-WebSocket-Extensions value, if any
 * @throws WebSocketError WS_ERR_INVALID_HEADER when a name or value could split the response
 */
export function buildSwitchingProtocols (accept: string, protocol?: string, extensions?: string, extraHeaders?: HeaderEntries): Buffer {
  // the accept value of computeAccept() is 28 base64 characters: checked by shape, not char by char
  let head = ACCEPT_SHAPE.test(accept) ? SWITCHING_PROTOCOLS_HEAD + accept + '\r\n' : SWITCHING_PROTOCOLS_HEAD.slice(0, -22) + headerLines('Sec-WebSocket-Accept', accept)
  // Section 4.2.2 step 5.5: the subprotocol header only when the server selected one.
  if (protocol !== undefined && protocol !== '') head += headerLines('Sec-WebSocket-Protocol', protocol)
  if (extensions !== undefined && extensions !== '') head += headerLines('Sec-WebSocket-Extensions', extensions)
  if (extraHeaders !== undefined) {
    for (const [name, value] of extraHeaders) {
      if (OWNED_BY_101.has(name.toLowerCase())) continue
      head += headerLines(name, value)
    }
  }
  return Buffer.from(head + '\r\n', 'latin1')
}

/** Statuses whose responses carry no body and no Content-Length (RFC 7230 section 3.3.2, 3.3.3). */
function isBodiless (statusCode: number): boolean {
  return statusCode === 204 || statusCode === 304
}

/**
 * A complete HTTP/1.1 response for refusing a handshake on the raw socket, after which the
 * caller ends the socket: status line with the reason phrase from node:http, `headers` in
 * order, `Content-Length` of the body, `Connection: close`, then the body. A non-empty body
 * without a Content-Type gets `text/plain; charset=utf-8`. Given Content-Length, Connection or
 * Transfer-Encoding headers are replaced by the computed ones. For 204 and 304 the body is
 * dropped and no Content-Length is sent.
 *
 * @param statusCode 200-999; 1xx is refused because a client would read it as interim (or,
 *   for 101, as an accepted upgrade)
 * @throws WebSocketError WS_ERR_INVALID_OPTION for a bad status code, WS_ERR_INVALID_HEADER for
 *   a header name or value that could split the response
 */
export function buildHttpResponse (statusCode: number, headers: Readonly<Record<string, HeaderFieldValue>>, body: string | Buffer): Buffer {
  if (!Number.isInteger(statusCode) || statusCode < 200 || statusCode > 999) {
    throw wsError('WS_ERR_INVALID_OPTION', `status code ${statusCode} for a refusal`)
  }
  const bodiless = isBodiless(statusCode)
  const payload = bodiless ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  let head = `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Unknown'}\r\n`
  let hasContentType = false
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase()
    if (OWNED_BY_REFUSAL.has(lower)) continue
    if (lower === 'content-type') hasContentType = true
    head += headerLines(name, headers[name])
  }
  if (!hasContentType && payload.length > 0) head += 'Content-Type: text/plain; charset=utf-8\r\n'
  if (!bodiless) head += `Content-Length: ${payload.length}\r\n`
  head += 'Connection: close\r\n\r\n'
  return Buffer.concat([Buffer.from(head, 'latin1'), payload])
}
