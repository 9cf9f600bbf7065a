// Errors for HTTP answers that refuse a WebSocket: they carry the status and headers, so that
// callers (and the reconnect policy) can tell a 401 from a 503 and read Retry-After.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { wsError, type WebSocketError, type WebSocketErrorCode } from '../errors'

/** A WebSocketError for an HTTP answer other than a valid 101. */
export interface HandshakeRefusal extends WebSocketError {
  /** the HTTP status of the refusal (or of the redirect not followed) */
  readonly statusCode: number
  /** the refusal's response headers (Location, Retry-After, WWW-Authenticate...) */
  readonly headers: IncomingHttpHeaders
}

export function handshakeRefusal (code: WebSocketErrorCode, detail: string, res: Pick<IncomingMessage, 'statusCode' | 'headers'>): HandshakeRefusal {
  const err = wsError(code, detail)
  // statusCode is declared readonly for the library's own handshake errors; a refusal fills it
  // in from the response (it is a plain writable field at runtime)
  Object.assign(err, { statusCode: res.statusCode ?? 0, headers: res.headers })
  return err as HandshakeRefusal
}

/** True for an error that carries a refusal's HTTP status. */
export function isHandshakeRefusal (err: unknown): err is HandshakeRefusal {
  return typeof err === 'object' && err !== null && typeof (err as { statusCode?: unknown }).statusCode === 'number' &&
    typeof (err as { headers?: unknown }).headers === 'object'
}
