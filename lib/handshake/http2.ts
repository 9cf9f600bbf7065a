// The WebSocket opening handshake over HTTP/2 (RFC 8441): an extended CONNECT request carrying
// `:protocol: websocket` on a stream of an HTTP/2 connection whose server advertised
// SETTINGS_ENABLE_CONNECT_PROTOCOL, answered with a 200. Section 5: Sec-WebSocket-Key and
// Sec-WebSocket-Accept are not used; Origin, Sec-WebSocket-Version, -Protocol and -Extensions
// mean what RFC 6455 says they mean.
import type { IncomingHttpHeaders } from 'node:http'
import { wsError } from '../errors'
import { KEY_SHAPE, WEBSOCKET_VERSION, type UpgradeRequestInfo } from './request'
import type { HeaderEntries } from './response'
import { parseSubprotocols } from './subprotocol'
import { isToken, isValidHeaderValue, parseTokenList } from './tokens'

/** HTTP/2 response headers as node:http2's `stream.respond()` takes them. */
export type Http2ResponseHeaders = Record<string, string | string[] | number>

/**
 * Headers of the 200 that the handshake decides, or that HTTP/2 forbids: connection-specific
 * fields (RFC 9113 section 8.2.2) make the response malformed, and a 200 that opens a tunnel has
 * no content to describe (RFC 9110 section 9.3.6). Extra headers with these names are dropped.
 */
const OWNED_BY_200 = new Set([
  'connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'http2-settings',
  'content-length', 'content-type', 'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions'
])

/** Whether a request's headers are an extended CONNECT for a WebSocket (RFC 8441 section 4). */
export function isExtendedConnect (headers: IncomingHttpHeaders): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket'
}

/**
 * Validate an extended CONNECT for a WebSocket and extract what the response needs. RFC 8441
 * section 5 drops Sec-WebSocket-Key, so `key` is empty, but for a client that sends a well-formed
 * one anyway (undici 7 does, and then requires a matching Sec-WebSocket-Accept): its key, so that
 * the 200 can carry the accept it checks; clients that follow the RFC never see it. Node's HTTP/2
 * layer has already required :scheme, :path and :authority (section 4). Checked here:
 *
 * 1. Sec-WebSocket-Version is exactly `13` (RFC 6455 section 4.2.1 item 6, which RFC 8441
 *    section 5 keeps) - WS_ERR_HANDSHAKE_VERSION, 426 with Sec-WebSocket-Version: 13;
 * 2. Sec-WebSocket-Protocol, if present, is a list of unique tokens - WS_ERR_HANDSHAKE_PROTOCOL.
 *
 * @throws WebSocketError with one of the codes above
 */
export function validateExtendedConnect (headers: IncomingHttpHeaders): UpgradeRequestInfo {
  const version = headers['sec-websocket-version']
  if (version !== WEBSOCKET_VERSION) {
    throw wsError('WS_ERR_HANDSHAKE_VERSION', typeof version !== 'string' ? 'header missing or repeated' : `version ${JSON.stringify(version.slice(0, 32))}`)
  }
  const extensions = headers['sec-websocket-extensions']
  const origin = headers.origin
  const key = headers['sec-websocket-key']
  return {
    key: typeof key === 'string' && KEY_SHAPE.test(key) ? key : '',
    protocols: parseSubprotocols(headers['sec-websocket-protocol']),
    extensions: Array.isArray(extensions) ? extensions.join(', ') : extensions,
    origin: Array.isArray(origin) ? origin.join(', ') : origin
  }
}

/**
 * The headers of the 200 that accepts a WebSocket over HTTP/2 (RFC 8441 section 5): the
 * selected subprotocol and the negotiated extensions when there are any, `accept` when given
 * (see validateExtendedConnect: only for a client that sent a key), then `extraHeaders`
 * (lower-cased, as HTTP/2 requires), but for those named like a header the handshake owns or
 * HTTP/2 forbids, which are dropped.
 *
 * @throws WebSocketError WS_ERR_INVALID_HEADER for a name that is not a token or a value with
 *   CR, LF or NUL
 */
export function buildHttp2Accept (protocol?: string, extensions?: string, extraHeaders?: HeaderEntries, accept?: string): Http2ResponseHeaders {
  const headers: Http2ResponseHeaders = { ':status': 200 }
  if (accept !== undefined) headers['sec-websocket-accept'] = accept
  if (protocol !== undefined && protocol !== '') headers['sec-websocket-protocol'] = protocol
  if (extensions !== undefined && extensions !== '') headers['sec-websocket-extensions'] = extensions
  if (extraHeaders === undefined) return headers
  for (const [name, value] of extraHeaders) {
    const lower = name.toLowerCase()
    if (OWNED_BY_200.has(lower)) continue
    if (!isToken(name)) throw wsError('WS_ERR_INVALID_HEADER', `header name ${JSON.stringify(name)}`)
    const values = typeof value === 'object' ? [...value] : [String(value)]
    for (const v of values) {
      if (typeof v !== 'string' || !isValidHeaderValue(v)) {
        throw wsError('WS_ERR_INVALID_HEADER', `value of ${name} ${JSON.stringify(String(v).slice(0, 64))}`)
      }
    }
    const before = headers[lower]
    headers[lower] = before === undefined ? (values.length === 1 ? values[0] : values) : [...[before].flat().map(String), ...values]
  }
  return headers
}

/**
 * Request headers the client's extended CONNECT must not carry: connection-specific fields
 * (RFC 9113 section 8.2.2), Host (`:authority` names it, section 8.3.1) and the RFC 6455 key
 * (RFC 8441 section 5).
 */
const NOT_IN_HTTP2_REQUEST = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'host', 'sec-websocket-key'])

/** Where an extended CONNECT goes: `:scheme`, `:authority` and `:path` (RFC 8441 section 5). */
export interface ExtendedConnectTarget {
  secure: boolean
  /** host and port (the port only when not the scheme's default) */
  authority: string
  /** path and query */
  path: string
}

/**
 * The headers of an extended CONNECT opening a WebSocket on an HTTP/2 stream: the pseudo-headers
 * RFC 8441 section 5 names, then the request headers RFC 6455 section 4.1 gives (version,
 * subprotocols, extensions, origin, the caller's own), lower-cased, without those HTTP/2 forbids
 * or that have no meaning over it. A Host among the caller's headers becomes `:authority`.
 *
 * @param headers what buildClientRequestHeaders() made for the same request
 */
export function buildExtendedConnectHeaders (target: ExtendedConnectTarget, headers: Readonly<Record<string, string | string[]>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': target.secure ? 'https' : 'http',
    ':authority': target.authority,
    ':path': target.path
  }
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase()
    if (lower === 'host') out[':authority'] = String(headers[name])
    if (NOT_IN_HTTP2_REQUEST.has(lower)) continue
    out[lower] = headers[name]
  }
  return out
}

/**
 * Check the server's answer to an extended CONNECT: a 2xx accepts (RFC 8441 section 5, RFC
 * 9110 section 9.3.6), then any Sec-WebSocket-Protocol must name exactly one of the subprotocols
 * offered (RFC 6455 section 4.1 item 6). Extensions are returned raw for the negotiator.
 *
 * @throws WebSocketError WS_ERR_CLIENT_HANDSHAKE
 */
export function validateHttp2Accept (headers: IncomingHttpHeaders, offeredProtocols: readonly string[]): { protocol: string, extensions: string | undefined } {
  const header = headers['sec-websocket-protocol']
  let protocol = ''
  if (header !== undefined) {
    const chosen = parseTokenList(header)
    if (chosen.length !== 1) throw wsError('WS_ERR_CLIENT_HANDSHAKE', 'Sec-WebSocket-Protocol must name exactly one subprotocol')
    protocol = chosen[0]
    if (!offeredProtocols.includes(protocol)) {
      throw wsError('WS_ERR_CLIENT_HANDSHAKE', `server selected subprotocol ${JSON.stringify(protocol.slice(0, 64))}, which was not offered`)
    }
  }
  const extensions = headers['sec-websocket-extensions']
  return { protocol, extensions: Array.isArray(extensions) ? extensions.join(', ') : extensions }
}
