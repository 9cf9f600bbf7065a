// Reading an HTTP/1.1 response head from bytes (RFC 9112 sections 4 and 5), for a client that
// has no Node HTTP parser in front of it: injectWS, whose server writes into one end of an
// in-memory pair. Linear, no regular expressions, bounded in size like Node's own parser.
import { wsError } from '../errors'

/** as Node's --max-http-header-size default (16 KiB) */
export const MAX_RESPONSE_HEAD = 16 * 1024

export interface ResponseHead {
  status: number
  /** lower-cased names; repeated fields joined with ', ' (RFC 9110 section 5.3) */
  fields: Record<string, string>
  /** the bytes after the head: a refusal's body, or the first frames after a 101 */
  rest: Buffer
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

/**
 * The response head at the start of `bytes`, or null while it is incomplete.
 * @throws WebSocketError WS_ERR_CLIENT_HANDSHAKE past MAX_RESPONSE_HEAD or for a malformed status line
 */
export function readResponseHead (bytes: Buffer): ResponseHead | null {
  const end = bytes.indexOf(CRLFCRLF)
  if (end === -1 || end > MAX_RESPONSE_HEAD) {
    if (bytes.length > MAX_RESPONSE_HEAD) throw wsError('WS_ERR_CLIENT_HANDSHAKE', 'response head too large')
    return null
  }
  const lines = bytes.toString('latin1', 0, end).split('\r\n')
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 section 4)
  const line = lines[0]
  if (!line.startsWith('HTTP/1.') || line.charCodeAt(8) !== 0x20 || !isDigits(line, 9, 12) || (line.length > 12 && line.charCodeAt(12) !== 0x20)) {
    throw wsError('WS_ERR_CLIENT_HANDSHAKE', `malformed status line ${JSON.stringify(line.slice(0, 64))}`)
  }
  const fields: Record<string, string> = {}
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':')
    if (colon <= 0) continue
    const name = lines[i].slice(0, colon).trim().toLowerCase()
    const value = lines[i].slice(colon + 1).trim()
    fields[name] = name in fields ? `${fields[name]}, ${value}` : value
  }
  return { status: Number(line.slice(9, 12)), fields, rest: bytes.subarray(end + 4) }
}

function isDigits (text: string, from: number, to: number): boolean {
  if (text.length < to) return false
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}
