// Sec-WebSocket-Extensions parsing (RFC 6455 section 9.1) and permessage-deflate negotiation
// (RFC 7692 sections 5 and 7), for both sides of the opening handshake.
//
// The parser is one left-to-right pass with no regular expression: header values come from the
// peer, and this exact header has been a denial-of-service vector before:
//   - websocket-extensions (npm), CVE-2020-7662 / GHSA-g78m-2chm-r7qv (CVE-2020-7663 for the
//     Ruby gem): its regex took exponential time on an unclosed quoted string of `\x` pairs;
//   - ws before 3.3.1 crashed on extension or parameter names such as `constructor` that
//     collide with Object.prototype (websockets/ws#1235), and rewrote its parser without
//     regular expressions to rule out ReDoS (websockets/ws#1240).
// Parameters are kept as an ordered list of pairs, never as object keys, so no name can
// collide with anything and duplicates stay visible (RFC 7692 section 7 makes them a reason to
// decline).
import { wsError } from '../errors'
import { resolveDeflateOptions, type DeflateOptions, type ResolvedDeflateOptions, type NegotiatedDeflate } from '../engine/deflate-options'

// the options live in the engine, beside the codec that uses them; named here for existing imports
export { resolveDeflateOptions, type DeflateOptions, type ResolvedDeflateOptions, type NegotiatedDeflate }

export const PERMESSAGE_DEFLATE = 'permessage-deflate'

/** One extension of a Sec-WebSocket-Extensions header: its name and its parameters in order. */
export interface ExtensionOffer {
  name: string
  /** `[name, value]` pairs as sent; `true` for a parameter without a value; duplicates kept */
  params: Array<[string, string | true]>
}

const SERVER_NO_CONTEXT_TAKEOVER = 'server_no_context_takeover'
const CLIENT_NO_CONTEXT_TAKEOVER = 'client_no_context_takeover'
const SERVER_MAX_WINDOW_BITS = 'server_max_window_bits'
const CLIENT_MAX_WINDOW_BITS = 'client_max_window_bits'
const MAX_WINDOW_BITS = 15

// ---------------------------------------------------------------------------------------------
// Header grammar (RFC 6455 section 9.1, with RFC 7230's list, token and quoted-string rules)

const COMMA = 0x2c
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const DQUOTE = 0x22
const BACKSLASH = 0x5c
const SP = 0x20
const HTAB = 0x09

/** `tchar` of RFC 7230 section 3.2.6, indexed by char code (ASCII only). */
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1

function isTchar (c: number): boolean { return c < 128 && TCHAR[c] === 1 }

function isToken (value: string): boolean {
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) if (!isTchar(value.charCodeAt(i))) return false
  return true
}

function skipWhitespace (text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c !== SP && c !== HTAB) break
    i++
  }
  return i
}

function skipToken (text: string, i: number): number {
  while (i < text.length && isTchar(text.charCodeAt(i))) i++
  return i
}

function malformed (detail: string, at: number): never {
  throw wsError('WS_ERR_HANDSHAKE_EXTENSION', `${detail} at offset ${at}`)
}

/**
 * Read the quoted-string starting at `text[start]` (a DQUOTE), unescaping quoted-pairs
 * (RFC 7230 section 3.2.6). Returns the unescaped value and the index after the closing quote.
 */
function readQuoted (text: string, start: number): [string, number] {
  let value = ''
  let runStart = start + 1 // start of the current run of plain characters
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === DQUOTE) return [value + text.slice(runStart, i), i + 1]
    if (c === BACKSLASH) {
      if (i + 1 === text.length) break
      value += text.slice(runStart, i) + text[i + 1]
      i++
      runStart = i + 1
    } else if ((c < SP && c !== HTAB) || c === 0x7f) {
      malformed('control character in a quoted string', i)
    }
  }
  return malformed('unterminated quoted string', start)
}

/** Read `token [ "=" ( token / quoted-string ) ]` at `i`; returns the pair and the next index. */
function readParam (text: string, i: number): [[string, string | true], number] {
  const nameEnd = skipToken(text, i)
  if (nameEnd === i) malformed('expected a parameter name', i)
  const name = text.slice(i, nameEnd)
  i = skipWhitespace(text, nameEnd)
  if (text.charCodeAt(i) !== EQUALS) return [[name, true], i]
  i = skipWhitespace(text, i + 1)
  let value: string
  if (text.charCodeAt(i) === DQUOTE) {
    const at = i;
    [value, i] = readQuoted(text, i)
    // RFC 6455 section 9.1: the unescaped quoted-string value MUST conform to `token`.
    if (!isToken(value)) malformed('quoted parameter value is not a token', at)
  } else {
    const end = skipToken(text, i)
    if (end === i) malformed('expected a parameter value', i)
    value = text.slice(i, end)
    i = end
  }
  return [[name, value], skipWhitespace(text, i)]
}

/**
 * Parse a Sec-WebSocket-Extensions header (several header lines count as one list, RFC 7230
 * section 3.2.2) into its extensions in order. Empty list elements are ignored (RFC 7230
 * section 7). Time is linear in the header's length.
 * @throws WebSocketError WS_ERR_HANDSHAKE_EXTENSION when the header does not follow the grammar
 */
export function parseExtensionHeader (value: string | readonly string[] | undefined): ExtensionOffer[] {
  const offers: ExtensionOffer[] = []
  if (value === undefined) return offers
  const text = typeof value === 'string' ? value : value.join(',')
  let i = 0
  for (;;) {
    i = skipWhitespace(text, i)
    if (i === text.length) return offers
    if (text.charCodeAt(i) === COMMA) { i++; continue }
    const nameEnd = skipToken(text, i)
    if (nameEnd === i) malformed('expected an extension name', i)
    const offer: ExtensionOffer = { name: text.slice(i, nameEnd), params: [] }
    offers.push(offer)
    i = skipWhitespace(text, nameEnd)
    while (text.charCodeAt(i) === SEMICOLON) {
      let param: [string, string | true];
      [param, i] = readParam(text, skipWhitespace(text, i + 1))
      offer.params.push(param)
    }
    if (i === text.length) return offers
    if (text.charCodeAt(i) !== COMMA) malformed('unexpected character', i)
    i++
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter checks shared by both sides (RFC 7692 section 7)

/** The four parameters of one permessage-deflate offer or response, or why they are invalid. */
interface DeflateParams {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number | undefined
  /** `true` when present without a value (allowed in an offer only) */
  clientMaxWindowBits: number | true | undefined
}

/**
 * RFC 7692 section 7.1.2.1 and 7.1.2.2: window bits are a decimal integer 8..15 without leading
 * zeros (a quoted value is unquoted by the parser first).
 */
function parseWindowBits (value: string): number | undefined {
  if (value.length === 1 && value >= '8' && value <= '9') return Number(value)
  if (value.length === 2 && value[0] === '1' && value[1] >= '0' && value[1] <= '5') return Number(value)
  return undefined
}

/** Validate the parameters of one permessage-deflate element; a string is the reason it is not acceptable. */
function readDeflateParams (params: ReadonlyArray<[string, string | true]>, isOffer: boolean): DeflateParams | string {
  const out: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined
  }
  const seen = new Set<string>()
  for (const [name, value] of params) {
    // RFC 7692 section 7: multiple parameters with the same name make the element invalid.
    if (seen.has(name)) return `duplicate parameter ${name}`
    seen.add(name)
    if (name === SERVER_NO_CONTEXT_TAKEOVER || name === CLIENT_NO_CONTEXT_TAKEOVER) {
      // RFC 7692 section 7.1.1.1 and 7.1.1.2: these parameters have no value.
      if (value !== true) return `${name} must not have a value`
      if (name === SERVER_NO_CONTEXT_TAKEOVER) out.serverNoContextTakeover = true
      else out.clientNoContextTakeover = true
    } else if (name === SERVER_MAX_WINDOW_BITS) {
      // RFC 7692 section 7.1.2.1: a value is required, in offers and responses alike.
      const bits = value === true ? undefined : parseWindowBits(value)
      if (bits === undefined) return `invalid ${name} value`
      out.serverMaxWindowBits = bits
    } else if (name === CLIENT_MAX_WINDOW_BITS) {
      // RFC 7692 section 7.1.2.2: the value may be omitted in an offer, not in a response.
      if (value === true && isOffer) {
        out.clientMaxWindowBits = true
      } else {
        const bits = value === true ? undefined : parseWindowBits(value)
        if (bits === undefined) return `invalid ${name} value`
        out.clientMaxWindowBits = bits
      }
    } else {
      // RFC 7692 section 7: a parameter not defined for this extension makes it unacceptable.
      return `unknown parameter ${name}`
    }
  }
  return out
}

function formatResponse (n: NegotiatedDeflate, sendServerBits: boolean, sendClientBits: boolean): string {
  let header = PERMESSAGE_DEFLATE
  if (n.serverNoContextTakeover) header += `; ${SERVER_NO_CONTEXT_TAKEOVER}`
  if (n.clientNoContextTakeover) header += `; ${CLIENT_NO_CONTEXT_TAKEOVER}`
  if (sendServerBits) header += `; ${SERVER_MAX_WINDOW_BITS}=${n.serverMaxWindowBits}`
  if (sendClientBits) header += `; ${CLIENT_MAX_WINDOW_BITS}=${n.clientMaxWindowBits}`
  return header
}

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
    // the server may also choose it unasked.
    serverNoContextTakeover: asked.serverNoContextTakeover || options.serverNoContextTakeover,
    // RFC 7692 section 7.1.1.2: the server may always ask the client to drop its context; when
    // the client offered to, accepting saves keeping an inflate window per idle connection.
    clientNoContextTakeover: asked.clientNoContextTakeover || options.clientNoContextTakeover,
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits
  }
  return { params, header: formatResponse(params, sendServerBits, sendClientBits) }
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
  return formatResponse(params, params.serverMaxWindowBits !== MAX_WINDOW_BITS, params.clientMaxWindowBits !== MAX_WINDOW_BITS)
}
