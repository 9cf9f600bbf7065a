// Client side of the opening handshake: the request headers to send (RFC 6455 section 4.1,
// client requirements) and the checks on the server's response that decide whether the
// connection is established or MUST be failed (section 4.1, "If the server's response is not
// valid" items 1-6).
import type { IncomingHttpHeaders } from 'node:http'
import { wsError } from '../errors'
import { computeAccept } from './accept'
import { WEBSOCKET_VERSION } from './request'
import type { HeaderFieldValue } from './response'
import { hasToken, isToken, isValidHeaderValue, parseTokenList } from './tokens'

export interface ClientRequestHeaderOptions {
  /** Sec-WebSocket-Key, from generateKey(); keep it to validate the response. */
  key: string
  /** Subprotocols to offer, in order of preference; each a token, no duplicates. */
  protocols?: readonly string[]
  /** Sec-WebSocket-Extensions offer, already serialized. */
  extensions?: string
  /** Any other headers (Authorization, Cookie, User-Agent...). */
  headers?: Readonly<Record<string, HeaderFieldValue | undefined>>
  /** Origin to send; overrides an Origin given in `headers`. */
  origin?: string
}

/** What an accepted handshake settled. */
export interface ServerHandshakeInfo {
  /** The subprotocol the server selected, or '' for none. */
  protocol: string
  /** The raw Sec-WebSocket-Extensions the server answered, for the extensions negotiator. */
  extensions: string | undefined
}

/**
 * Header names the handshake sets itself: user-supplied headers with these names are dropped
 * so that what is sent always agrees with what validateServerHandshake() expects.
 */
const OWNED_BY_CLIENT = new Set([
  'connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version',
  'sec-websocket-protocol', 'sec-websocket-extensions'
])

function checkedValue (name: string, value: string): string {
  if (!isValidHeaderValue(value)) throw wsError('WS_ERR_INVALID_HEADER', `value of ${name} ${JSON.stringify(value.slice(0, 64))}`)
  return value
}

/**
 * Headers for `http.request()` / `https.request()` opening a WebSocket: the caller's `headers`
 * (minus the names the handshake owns), then `Connection: Upgrade`, `Upgrade: websocket`,
 * `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13` (section 4.1 items 5-9), and, when given,
 * `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` and `Origin`.
 *
 * @throws WebSocketError WS_ERR_INVALID_OPTION for an invalid or repeated subprotocol (section
 *   4.1 item 10: tokens, all unique), WS_ERR_INVALID_HEADER for a value with CR, LF or another
 *   forbidden character
 */
export function buildClientRequestHeaders (options: ClientRequestHeaderOptions): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const userHeaders = options.headers ?? {}
  for (const name of Object.keys(userHeaders)) {
    const value = userHeaders[name]
    const lower = name.toLowerCase()
    if (value === undefined || OWNED_BY_CLIENT.has(lower)) continue
    if (lower === 'origin' && options.origin !== undefined) continue
    if (!isToken(name)) throw wsError('WS_ERR_INVALID_HEADER', `header name ${JSON.stringify(name)}`)
    out[name] = typeof value === 'object' ? value.map(v => checkedValue(name, v)) : checkedValue(name, String(value))
  }
  out.Connection = 'Upgrade'
  out.Upgrade = 'websocket'
  out['Sec-WebSocket-Key'] = checkedValue('Sec-WebSocket-Key', options.key)
  out['Sec-WebSocket-Version'] = WEBSOCKET_VERSION

  const protocols = options.protocols ?? []
  const seen = new Set<string>()
  for (const protocol of protocols) {
    if (!isToken(protocol) || seen.has(protocol)) {
      throw wsError('WS_ERR_INVALID_OPTION', `subprotocol ${JSON.stringify(protocol)} is not a token or is repeated`)
    }
    seen.add(protocol)
  }
  if (protocols.length > 0) out['Sec-WebSocket-Protocol'] = protocols.join(', ')
  if (options.extensions !== undefined && options.extensions !== '') {
    out['Sec-WebSocket-Extensions'] = checkedValue('Sec-WebSocket-Extensions', options.extensions)
  }
  if (options.origin !== undefined) out.Origin = checkedValue('Origin', options.origin)
  return out
}

function fail (detail: string): Error {
  return wsError('WS_ERR_CLIENT_HANDSHAKE', detail)
}

/**
 * Check the server's response to our handshake. RFC 6455 section 4.1: the client MUST fail
 * the WebSocket connection unless the status is 101, Upgrade is `websocket` and Connection
 * lists `Upgrade` (both ASCII case-insensitive), Sec-WebSocket-Accept equals the value derived
 * from our key, and any Sec-WebSocket-Protocol names exactly one of the subprotocols we
 * offered. A server may leave Sec-WebSocket-Protocol out even when we offered some: that
 * selects no subprotocol (protocol ''), as section 4.2.2 allows; the caller may refuse it.
 * Extensions are returned raw: checking them against the offer is the extensions
 * negotiator's job (section 4.1 item 5).
 *
 * @param key the Sec-WebSocket-Key that was sent
 * @param offeredProtocols the subprotocols that were offered
 * @throws WebSocketError WS_ERR_CLIENT_HANDSHAKE, with a detail naming the failed rule
 */
export function validateServerHandshake (statusCode: number | undefined, headers: IncomingHttpHeaders, key: string, offeredProtocols: readonly string[]): ServerHandshakeInfo {
  // Section 4.1: "If the status code received from the server is not 101, the client handles
  // the response per HTTP procedures" - for us, a failed handshake.
  if (statusCode !== 101) throw fail(`expected status 101, got ${statusCode ?? 'none'}`)

  // Item 2: Upgrade MUST be present and be "websocket", case-insensitively.
  const upgrade = parseTokenList(headers.upgrade)
  if (upgrade.length !== 1 || upgrade[0].toLowerCase() !== 'websocket') {
    throw fail(headers.upgrade === undefined ? 'Upgrade header missing' : `Upgrade header is ${JSON.stringify(String(headers.upgrade).slice(0, 64))}, not websocket`)
  }

  // Item 3: Connection MUST contain the token "Upgrade", case-insensitively.
  if (!hasToken(headers.connection, 'upgrade')) {
    throw fail(headers.connection === undefined ? 'Connection header missing' : 'Connection header has no Upgrade token')
  }

  // Item 4: Sec-WebSocket-Accept MUST be base64(SHA-1(key + GUID)), byte for byte.
  const accept = headers['sec-websocket-accept']
  if (accept === undefined) throw fail('Sec-WebSocket-Accept header missing')
  if (typeof accept !== 'string' || accept !== computeAccept(key)) throw fail('Sec-WebSocket-Accept does not match the key sent')

  // Item 6: a subprotocol the client did not offer (or any, when it offered none) fails the
  // connection. The server answers with a single value (section 4.2.2 step 5.5 / section 11.3.4).
  let protocol = ''
  const protocolHeader = headers['sec-websocket-protocol']
  if (protocolHeader !== undefined) {
    const chosen = parseTokenList(protocolHeader)
    if (chosen.length !== 1) throw fail('Sec-WebSocket-Protocol must name exactly one subprotocol')
    protocol = chosen[0]
    if (offeredProtocols.length === 0) throw fail(`server selected subprotocol ${JSON.stringify(protocol.slice(0, 64))} but none was offered`)
    if (!offeredProtocols.includes(protocol)) throw fail(`server selected subprotocol ${JSON.stringify(protocol.slice(0, 64))}, which was not offered`)
  }

  const extensions = headers['sec-websocket-extensions']
  return { protocol, extensions: Array.isArray(extensions) ? extensions.join(', ') : extensions }
}
