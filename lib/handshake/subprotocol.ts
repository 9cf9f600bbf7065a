// Subprotocol negotiation: the client offers a list in Sec-WebSocket-Protocol, the server picks
// at most one of them (RFC 6455 section 1.9, section 4.1, section 4.2.2).
import { wsError } from '../errors'
import { isToken, parseTokenList, type HeaderValue } from './tokens'

/**
 * How a server chooses a subprotocol: a list in order of preference, or a function given the
 * client's offers (in the client's order) and the request, returning the chosen protocol, or
 * `false` / `undefined` for none.
 */
export type SubprotocolSelector<Req = unknown> =
  | readonly string[]
  | ((offered: string[], req: Req) => string | false | undefined)

/**
 * The subprotocols a client offers, in its order, from the Sec-WebSocket-Protocol header
 * (several header lines count as one list). RFC 6455 section 4.1 and section 11.3.4: each
 * element MUST be a token and all MUST be unique; a header breaking that is malformed and
 * refused with WS_ERR_HANDSHAKE_PROTOCOL (400). Subprotocol names are compared
 * case-sensitively. Empty list elements (`a,,b`) are ignored as RFC 7230 section 7 requires,
 * so a header holding nothing but commas and spaces is treated as no offer at all.
 *
 * @throws WebSocketError WS_ERR_HANDSHAKE_PROTOCOL
 */
export function parseSubprotocols (value: HeaderValue): string[] {
  // most clients offer none: no Set to check for duplicates then
  if (value === undefined) return []
  const offered = parseTokenList(value)
  const seen = new Set<string>()
  for (const protocol of offered) {
    if (!isToken(protocol)) {
      throw wsError('WS_ERR_HANDSHAKE_PROTOCOL', `malformed Sec-WebSocket-Protocol header (invalid token ${JSON.stringify(protocol.slice(0, 64))})`)
    }
    if (seen.has(protocol)) {
      throw wsError('WS_ERR_HANDSHAKE_PROTOCOL', `malformed Sec-WebSocket-Protocol header (duplicate ${JSON.stringify(protocol)})`)
    }
    seen.add(protocol)
  }
  return offered
}

/**
 * The subprotocol the server answers with, or `false` for none (the 101 response then omits
 * Sec-WebSocket-Protocol).
 *
 * - With a list, the server's preference wins: the first entry of `server` that the client
 *   offered.
 * - With a function, its answer counts only if it is one of `offered`: RFC 6455 section 4.2.2
 *   says the server MUST pick one of the client's values, and a client MUST fail the
 *   connection otherwise (section 4.1). Any other answer means no selection. The function is
 *   not called when the client offered nothing, since nothing could then be chosen.
 */
export function selectSubprotocol<Req = unknown> (offered: readonly string[], server: SubprotocolSelector<Req>, req: Req): string | false {
  if (offered.length === 0) return false
  if (typeof server === 'function') {
    const chosen = server(offered.slice(), req)
    return typeof chosen === 'string' && offered.includes(chosen) ? chosen : false
  }
  for (const protocol of server) {
    if (offered.includes(protocol)) return protocol
  }
  return false
}
