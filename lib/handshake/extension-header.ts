// The Sec-WebSocket-Extensions header (RFC 6455 section 9.1): a comma-separated list of
// extensions, each a token with `;`-separated parameters whose values are tokens or quoted
// strings. Read with the primitives of tokens.ts in one left-to-right pass, no regular
// expression: this exact header has been a denial-of-service vector before:
//   - websocket-extensions (npm), CVE-2020-7662 / GHSA-g78m-2chm-r7qv (CVE-2020-7663 for the
//     Ruby gem): its regex took exponential time on an unclosed quoted string of `\x` pairs;
//   - ws before 3.3.1 crashed on extension or parameter names such as `constructor` that
//     collide with Object.prototype (websockets/ws#1235), and rewrote its parser without
//     regular expressions to rule out ReDoS (websockets/ws#1240).
// Parameters are kept as an ordered list of pairs, never as object keys, so no name can
// collide with anything and duplicates stay visible (RFC 7692 section 7 makes them a reason to
// decline).
import { wsError } from '../errors'
import { COMMA, DQUOTE, isToken, readQuotedString, skipToken, skipWhitespace, type HeaderValue } from './tokens'

/** One extension of a Sec-WebSocket-Extensions header: its name and its parameters in order. */
export interface ExtensionOffer {
  name: string
  /** `[name, value]` pairs as sent; `true` for a parameter without a value; duplicates kept */
  params: Array<[string, string | true]>
}

const SEMICOLON = 0x3b
const EQUALS = 0x3d

function malformed (detail: string, at: number): never {
  throw wsError('WS_ERR_HANDSHAKE_EXTENSION', `${detail} at offset ${at}`)
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
    [value, i] = readQuotedString(text, i, malformed)
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
export function parseExtensionHeader (value: HeaderValue): ExtensionOffer[] {
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
