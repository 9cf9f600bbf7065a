// Server side validation of a client's opening handshake (RFC 6455 section 4.2.1).
import type { IncomingHttpHeaders } from 'node:http'
import { wsError } from '../errors'
import { parseSubprotocols } from './subprotocol'
import { hasToken } from './tokens'

/** The only protocol version this library speaks (RFC 6455 section 4.1, section 4.4). */
export const WEBSOCKET_VERSION = '13'

/**
 * Headers to add to the 426 refusal of a request with an unsupported Sec-WebSocket-Version:
 * RFC 6455 section 4.4 says the server MUST then list the versions it supports.
 */
export const UNSUPPORTED_VERSION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Sec-WebSocket-Version': WEBSOCKET_VERSION
})

/** What a valid upgrade request carries that the rest of the handshake needs. */
export interface UpgradeRequestInfo {
  /** Sec-WebSocket-Key as sent (24 base64 characters), the input of computeAccept(). */
  key: string
  /** Subprotocols offered in Sec-WebSocket-Protocol, in the client's order (may be empty). */
  protocols: string[]
  /** The raw Sec-WebSocket-Extensions header, for the extensions negotiator to parse. */
  extensions: string | undefined
  /** The Origin header, for the origin policy (absent for most non-browser clients). */
  origin: string | undefined
}

/**
 * 16 bytes in base64 are exactly 22 alphabet characters and `==` padding. Anchored, no
 * alternation or nested quantifier, so matching is linear. A Sec-WebSocket-Key sent twice,
 * which Node joins as "a, b", cannot match.
 */
export const KEY_SHAPE = /^[A-Za-z0-9+/]{22}==$/

/** One header value as a single string; a value Node delivers as an array is treated as repeated. */
function single (value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined
  return value
}

/** Join a possibly repeated header into one comma-separated list value. */
function joined (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * Cheap test of whether a request is a WebSocket attempt at all: its Upgrade header lists the
 * `websocket` token (ASCII case-insensitive). A request that passes this but fails
 * {@link validateUpgradeRequest} is a broken handshake (400/426); one that fails it is plain HTTP.
 */
export function isUpgradeRequest (headers: IncomingHttpHeaders): boolean {
  return hasToken(headers.upgrade, 'websocket')
}

/**
 * Validate a client's opening handshake and extract what the response needs. Throws the first
 * rule broken, checked in this order:
 *
 * 1. method is GET (section 4.2.1 item 1) - WS_ERR_HANDSHAKE_METHOD, 400;
 * 2. Upgrade lists `websocket`, case-insensitively (item 3) - WS_ERR_HANDSHAKE_UPGRADE, 400;
 * 3. Connection lists `upgrade`, case-insensitively (item 4) - WS_ERR_HANDSHAKE_CONNECTION, 400;
 * 4. Sec-WebSocket-Version is exactly `13` (item 6) - WS_ERR_HANDSHAKE_VERSION, 426; the caller
 *    adds {@link UNSUPPORTED_VERSION_HEADERS};
 * 5. Sec-WebSocket-Key is 16 bytes in base64 (item 5) - WS_ERR_HANDSHAKE_KEY, 400;
 * 6. Sec-WebSocket-Protocol, if present, is a list of unique tokens (item 8) -
 *    WS_ERR_HANDSHAKE_PROTOCOL, 400.
 *
 * The version is checked before the key on purpose: a client of another protocol version may
 * format (or omit) the key differently, and the useful answer to it is the 426 that tells it to
 * retry with version 13 (section 4.4), not a 400 about its key.
 *
 * Not checked here: the Host header (Node's HTTP server already refuses HTTP/1.1 requests
 * without one) and the HTTP version, which the caller has on the request object.
 *
 * @throws WebSocketError with one of the codes above
 */
export function validateUpgradeRequest (method: string | undefined, headers: IncomingHttpHeaders): UpgradeRequestInfo {
  // RFC 6455 section 4.2.1 item 1: the method MUST be GET.
  if (method !== 'GET') throw wsError('WS_ERR_HANDSHAKE_METHOD', `method ${method ?? '(none)'}`)

  // Item 3: an Upgrade header field containing the value "websocket", case-insensitively.
  if (!hasToken(headers.upgrade, 'websocket')) {
    throw wsError('WS_ERR_HANDSHAKE_UPGRADE', headers.upgrade === undefined ? 'header missing' : 'no websocket token')
  }

  // Item 4: a Connection header field that includes the token "Upgrade", case-insensitively.
  if (!hasToken(headers.connection, 'upgrade')) {
    throw wsError('WS_ERR_HANDSHAKE_CONNECTION', headers.connection === undefined ? 'header missing' : 'no upgrade token')
  }

  // Item 6: Sec-WebSocket-Version MUST be 13; anything else (a repeated header included) is
  // answered per section 4.4.
  const version = single(headers['sec-websocket-version'])
  if (version !== WEBSOCKET_VERSION) {
    throw wsError('WS_ERR_HANDSHAKE_VERSION', version === undefined ? 'header missing or repeated' : `version ${JSON.stringify(version.slice(0, 32))}`)
  }

  // Item 5: Sec-WebSocket-Key is a base64 value that decodes to 16 bytes.
  const key = single(headers['sec-websocket-key'])
  if (key === undefined || !KEY_SHAPE.test(key)) {
    throw wsError('WS_ERR_HANDSHAKE_KEY', key === undefined ? 'header missing or repeated' : 'not 16 bytes in base64')
  }

  // Item 8: optional Sec-WebSocket-Protocol, a list of unique tokens.
  const protocols = parseSubprotocols(headers['sec-websocket-protocol'])

  return {
    key,
    protocols,
    extensions: joined(headers['sec-websocket-extensions']),
    // Joined rather than dropped when repeated, so that two origins never read as "no origin"
    // and match no allow-list entry.
    origin: joined(headers.origin)
  }
}
