// HTTP header grammar used by the opening handshake: comma-separated token lists (RFC 7230
// section 7, the `#rule`), tokens (RFC 7230 section 3.2.6) and field values (section 3.2).
//
// Every function here is a single left-to-right pass over the characters, with no regular
// expression that could backtrack. Header values come straight from the peer, and regex-based
// list splitting has been a real denial-of-service vector in this exact place:
//   - ws, CVE-2021-32640 / GHSA-6fc8-4gx4-v693: `value.trim().split(/ *, */)` on a crafted
//     Sec-WebSocket-Protocol header took quadratic time;
//   - websocket-extensions (npm), CVE-2020-7662 / GHSA-g78m-2chm-r7qv (and CVE-2020-7663 for the
//     Ruby gem): the Sec-WebSocket-Extensions parser backtracked exponentially on an unclosed
//     quoted string.
// A list here costs O(length of the header), whatever its content.

export const COMMA = 0x2c
export const DQUOTE = 0x22
const SP = 0x20
const HTAB = 0x09
const BACKSLASH = 0x5c

/** `tchar` of RFC 7230 section 3.2.6, indexed by char code (ASCII only). */
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1 // DIGIT
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1 // upper ALPHA
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1 // lower ALPHA

/** A header value as Node exposes it: one string, several lines as an array, or absent. */
export type HeaderValue = string | readonly string[] | undefined

/** True when char code `c` is a `tchar` (RFC 7230 section 3.2.6). */
export function isTchar (c: number): boolean {
  return c < 128 && TCHAR[c] === 1
}

/** True when `value` is a non-empty RFC 7230 `token` (section 3.2.6). */
export function isToken (value: string): boolean {
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) if (!isTchar(value.charCodeAt(i))) return false
  return true
}

/** The index of the first character at or after `i` that is not optional whitespace (SP, HTAB; RFC 7230 section 3.2.3). */
export function skipWhitespace (text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c !== SP && c !== HTAB) break
    i++
  }
  return i
}

/** The index one past the token starting at `i` (`i` itself when there is none). */
export function skipToken (text: string, i: number): number {
  while (i < text.length && isTchar(text.charCodeAt(i))) i++
  return i
}

/** How a grammar rule reports malformed input: what was wrong and at which offset. */
export type Malformed = (detail: string, at: number) => never

/**
 * Read the quoted-string starting at `text[start]` (a DQUOTE), unescaping quoted-pairs
 * (RFC 7230 section 3.2.6). Returns the unescaped value and the index after the closing quote;
 * a control character or a missing closing quote goes to `malformed`. Each character is read
 * once: an unclosed string of escapes costs its length, not more (CVE-2020-7662 above).
 */
export function readQuotedString (text: string, start: number, malformed: Malformed): [string, number] {
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

/**
 * True when `value` may be sent as a header field value: RFC 7230 section 3.2 allows only
 * HTAB, SP, visible ASCII and obs-text (0x80-0xFF). Rejecting CR and LF is what prevents
 * response splitting / header injection; NUL and other controls are rejected as well.
 * Characters above 0xFF cannot be written as the single latin1 byte HTTP headers are.
 */
export function isValidHeaderValue (value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === HTAB) continue
    if (c < SP || c === 0x7f || c > 0xff) return false
  }
  return true
}

/**
 * Walk the elements of one comma-separated list, trimming optional whitespace (SP and HTAB,
 * RFC 7230 section 3.2.3) around each and skipping empty elements, which recipients MUST
 * accept and ignore (RFC 7230 section 7). `visit(start, end)` receives each element's bounds;
 * returning true stops the walk, and then `scanList` returns true.
 */
function scanList (value: string, visit: (start: number, end: number) => boolean): boolean {
  let start = -1 // first non-whitespace character of the current element, -1 while none
  let end = -1 // one past its last non-whitespace character
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === COMMA) {
      if (start !== -1 && visit(start, end)) return true
      start = -1
    } else if (c !== SP && c !== HTAB) {
      if (start === -1) start = i
      end = i + 1
    }
  }
  return start !== -1 && visit(start, end)
}

/**
 * Split a comma-separated header list (RFC 7230 section 7) into its trimmed, non-empty
 * elements, in order. Several header lines (a `string[]`) count as one list joined by commas,
 * as RFC 7230 section 3.2.2 says they are equivalent to. Elements are returned as sent; check
 * them with {@link isToken} where the grammar requires tokens. Quoted strings are not
 * understood, so this is for token lists (Upgrade, Connection, Sec-WebSocket-Protocol), not
 * for Sec-WebSocket-Extensions.
 */
export function parseTokenList (value: HeaderValue): string[] {
  const out: string[] = []
  if (value === undefined) return out
  const lines = typeof value === 'string' ? [value] : value
  for (const line of lines) {
    scanList(line, (start, end) => { out.push(line.slice(start, end)); return false })
  }
  return out
}

/** ASCII case-insensitive comparison of `value[start, end)` with `token`, without allocating. */
function equalsIgnoringCase (value: string, start: number, end: number, token: string): boolean {
  if (end - start !== token.length) return false
  for (let i = 0; i < token.length; i++) {
    let a = value.charCodeAt(start + i)
    let b = token.charCodeAt(i)
    if (a >= 0x41 && a <= 0x5a) a |= 0x20
    if (b >= 0x41 && b <= 0x5a) b |= 0x20
    if (a !== b) return false
  }
  return true
}

/**
 * True when the list in `value` has an element equal to `token`, compared ASCII
 * case-insensitively (RFC 6455 section 4.2.1 and 4.1 ask for exactly that for the `websocket`
 * and `Upgrade` tokens). Stops at the first match and allocates nothing.
 */
export function hasToken (value: HeaderValue, token: string): boolean {
  if (value === undefined) return false
  // every upgrade request comes through here twice: no array, closure or iterator per call
  if (typeof value === 'string') return lineHasToken(value, token)
  for (let i = 0; i < value.length; i++) if (lineHasToken(value[i], token)) return true
  return false
}

/** hasToken() for one header line: the walk of scanList() with the comparison inlined. */
function lineHasToken (value: string, token: string): boolean {
  let start = -1
  let end = -1
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === COMMA) {
      if (start !== -1 && equalsIgnoringCase(value, start, end, token)) return true
      start = -1
    } else if (c !== SP && c !== HTAB) {
      if (start === -1) start = i
      end = i + 1
    }
  }
  return start !== -1 && equalsIgnoringCase(value, start, end, token)
}
