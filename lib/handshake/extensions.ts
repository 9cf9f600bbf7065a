// permessage-deflate negotiation (RFC 7692 sections 5 and 7) for both sides of the opening
// handshake: the server's answer to the client's offers, the client's offer and its check of
// the server's answer. The header's grammar is in extension-header.ts, the checks of the four
// parameters in deflate-params.ts.
import { wsError } from '../errors'
import { invalidOption } from '../engine/option-checks'
import { resolveDeflateOptions, type DeflateOptions, type ResolvedDeflateOptions, type NegotiatedDeflate } from '../engine/deflate-options'
import { parseExtensionHeader, type ExtensionOffer } from './extension-header'
import {
  CLIENT_MAX_WINDOW_BITS, CLIENT_NO_CONTEXT_TAKEOVER, MAX_WINDOW_BITS, PERMESSAGE_DEFLATE, SERVER_MAX_WINDOW_BITS,
  SERVER_NO_CONTEXT_TAKEOVER, formatDeflateParams, readDeflateParams
} from './deflate-params'

// the options live in the engine, beside the codec that uses them, and the grammar in its own
// module; named here for existing imports
export { resolveDeflateOptions, type DeflateOptions, type ResolvedDeflateOptions, type NegotiatedDeflate }
export { parseExtensionHeader, type ExtensionOffer, PERMESSAGE_DEFLATE }

// ---------------------------------------------------------------------------------------------
// Server side

/**
 * The response to one acceptable offer, or the reason the server declines it
 * (RFC 7692 section 7: the server MUST decline offers with unknown or repeated parameters or
 * invalid values, and declines what it does not support).
 */
export function answerDeflateOffer (offer: ExtensionOffer, options: ResolvedDeflateOptions): { params: NegotiatedDeflate, header: string } | string {
  if (offer.name !== PERMESSAGE_DEFLATE) return `not ${PERMESSAGE_DEFLATE}`
  const asked = readDeflateParams(offer.params, true)
  if (typeof asked === 'string') return asked
  // RFC 7692 section 7.1.2.2: without client_max_window_bits in the offer the response MUST NOT
  // carry it, so a server that needs the client's window limited cannot accept such an offer.
  if (options.clientMaxWindowBits !== undefined && asked.clientMaxWindowBits === undefined) {
    return 'client cannot limit its window but clientMaxWindowBits is required'
  }
  // RFC 7692 section 7.1.2.1: answer with the same or a smaller value than offered; the server
  // may also limit its own window unasked.
  const serverBits = Math.min(asked.serverMaxWindowBits ?? MAX_WINDOW_BITS, options.serverMaxWindowBits ?? MAX_WINDOW_BITS)
  const sendServerBits = asked.serverMaxWindowBits !== undefined || options.serverMaxWindowBits !== undefined
  // RFC 7692 section 7.1.2.2: a value in the offer is the most the client will use; the server
  // may ask for less (or echo it, which also tells the client it was understood).
  const offeredClientBits = typeof asked.clientMaxWindowBits === 'number' ? asked.clientMaxWindowBits : MAX_WINDOW_BITS
  const clientBits = Math.min(offeredClientBits, options.clientMaxWindowBits ?? MAX_WINDOW_BITS)
  const sendClientBits = typeof asked.clientMaxWindowBits === 'number' || options.clientMaxWindowBits !== undefined
  const params: NegotiatedDeflate = {
    // RFC 7692 section 7.1.1.1: an offered server_no_context_takeover MUST be echoed to accept;
    // the server may also choose it unasked, which a shared compressor needs.
    serverNoContextTakeover: asked.serverNoContextTakeover || options.compressor === 'shared',
    // RFC 7692 section 7.1.1.2: the server may always ask the client to drop its context (the
    // client MUST comply), which a shared decompressor needs; when the client offered to,
    // accepting saves keeping an inflate window per idle connection.
    clientNoContextTakeover: asked.clientNoContextTakeover || options.decompressor === 'shared',
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits
  }
  return { params, header: formatDeflateParams(params, sendServerBits, sendClientBits) }
}

/**
 * Pick the first acceptable permessage-deflate offer, in the client's order of preference
 * (RFC 6455 section 9.1), skipping the ones to decline. Returns the agreed parameters and the
 * Sec-WebSocket-Extensions response value, or null when no offer is acceptable (the handshake
 * then proceeds without compression).
 */
export function negotiatePerMessageDeflateServer (offers: readonly ExtensionOffer[], options: DeflateOptions | true): { params: NegotiatedDeflate, header: string } | null {
  const resolved = resolveDeflateOptions(options)
  for (const offer of offers) {
    const answer = answerDeflateOffer(offer, resolved)
    if (typeof answer !== 'string') return answer
  }
  return null
}

// ---------------------------------------------------------------------------------------------
// Client side

/**
 * The Sec-WebSocket-Extensions value a client sends. `client_max_window_bits` is always
 * offered (with our limit as value when set) so that servers may limit our window.
 */
export function buildPerMessageDeflateOffer (options: DeflateOptions | true = {}): string {
  // a client cannot choose how the server compresses; its own context is clientNoContextTakeover
  if (options !== true && (options.compressor !== undefined || options.decompressor !== undefined)) {
    throw invalidOption('perMessageDeflate.compressor and .decompressor are server options: a client offers serverNoContextTakeover / clientNoContextTakeover')
  }
  const o = resolveDeflateOptions(options)
  let header = PERMESSAGE_DEFLATE
  if (o.serverNoContextTakeover) header += `; ${SERVER_NO_CONTEXT_TAKEOVER}`
  if (o.clientNoContextTakeover) header += `; ${CLIENT_NO_CONTEXT_TAKEOVER}`
  if (o.serverMaxWindowBits !== undefined) header += `; ${SERVER_MAX_WINDOW_BITS}=${o.serverMaxWindowBits}`
  header += o.clientMaxWindowBits !== undefined ? `; ${CLIENT_MAX_WINDOW_BITS}=${o.clientMaxWindowBits}` : `; ${CLIENT_MAX_WINDOW_BITS}`
  return header
}

function refuse (detail: string): never {
  throw wsError('WS_ERR_CLIENT_EXTENSION', detail)
}

/**
 * Check the server's Sec-WebSocket-Extensions response against what the client offered (with
 * `options`, or `false` when it offered no extension). Returns the agreed parameters, or null
 * when the server declined compression (no extension in the response).
 * RFC 6455 section 9.1 and RFC 7692 section 5 and 7: the client MUST fail the connection when
 * the server answers with an extension it did not offer, repeats it, or uses parameters that
 * are unknown, repeated, invalid, or that the client cannot honour.
 * @throws WebSocketError WS_ERR_CLIENT_EXTENSION
 */
export function acceptPerMessageDeflateResponse (options: DeflateOptions | true | false, responseHeaderValue: string | readonly string[] | undefined): NegotiatedDeflate | null {
  let response: ExtensionOffer[]
  try {
    response = parseExtensionHeader(responseHeaderValue)
  } catch (err) {
    return refuse(`malformed Sec-WebSocket-Extensions response (${(err as Error).message})`)
  }
  if (response.length === 0) return null
  if (options === false) return refuse(`server accepted ${response[0].name}, which was not offered`)
  const o = resolveDeflateOptions(options)
  for (const ext of response) if (ext.name !== PERMESSAGE_DEFLATE) refuse(`server accepted ${ext.name}, which was not offered`)
  if (response.length > 1) refuse(`server accepted ${PERMESSAGE_DEFLATE} more than once`)
  const got = readDeflateParams(response[0].params, false)
  if (typeof got === 'string') return refuse(got)
  // RFC 7692 section 7.1.1.1: accepting our server_no_context_takeover means echoing it.
  if (o.serverNoContextTakeover && !got.serverNoContextTakeover) refuse(`${SERVER_NO_CONTEXT_TAKEOVER} was offered but not accepted`)
  // RFC 7692 section 7.1.2.1: accepting our server_max_window_bits means answering with the
  // same or a smaller value.
  if (o.serverMaxWindowBits !== undefined && (got.serverMaxWindowBits === undefined || got.serverMaxWindowBits > o.serverMaxWindowBits)) {
    refuse(`${SERVER_MAX_WINDOW_BITS} must be at most ${o.serverMaxWindowBits}`)
  }
  const clientBits = typeof got.clientMaxWindowBits === 'number' ? got.clientMaxWindowBits : MAX_WINDOW_BITS
  return {
    serverNoContextTakeover: got.serverNoContextTakeover,
    // RFC 7692 section 7.1.1.2: the server may ask it unasked, and the client MUST comply; when
    // we offered it ourselves we keep our word either way.
    clientNoContextTakeover: got.clientNoContextTakeover || o.clientNoContextTakeover,
    serverMaxWindowBits: got.serverMaxWindowBits ?? MAX_WINDOW_BITS,
    // never compress with a larger window than we announced, even if the server allows it
    clientMaxWindowBits: Math.min(clientBits, o.clientMaxWindowBits ?? MAX_WINDOW_BITS)
  }
}

/** The Sec-WebSocket-Extensions value describing agreed parameters (e.g. for `socket.extensions`). */
export function formatNegotiatedDeflate (params: NegotiatedDeflate): string {
  return formatDeflateParams(params, params.serverMaxWindowBits !== MAX_WINDOW_BITS, params.clientMaxWindowBits !== MAX_WINDOW_BITS)
}
