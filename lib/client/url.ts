// WebSocket URLs: what connect() accepts, where it connects to, and which redirects it follows.
// Pure functions, no I/O.
import { wsError } from '../errors'

/** A parsed ws:// or wss:// URL, with everything the dialer needs precomputed. */
export interface WebSocketTarget {
  /** the URL, with its scheme normalized to ws: or wss: */
  readonly url: URL
  readonly secure: boolean
  /** host name or address to connect to (IPv6 without brackets) */
  readonly host: string
  readonly port: number
  /** `host:port` as written in a CONNECT request (IPv6 in brackets) */
  readonly authority: string
  /** the Host header: host, plus the port when it is not the scheme's default (RFC 6455 section 4.1 item 4) */
  readonly hostHeader: string
  /** request target: path and query, never the fragment */
  readonly path: string
}

const SCHEMES: Readonly<Record<string, 'ws:' | 'wss:'>> = {
  'ws:': 'ws:',
  'wss:': 'wss:',
  // what browsers accept too (WHATWG WebSocket constructor): http and https map to ws and wss
  'http:': 'ws:',
  'https:': 'wss:'
}

const DEFAULT_PORT = { 'ws:': 80, 'wss:': 443 } as const

/** Status codes whose Location a client may follow with the same request (RFC 9110 section 15.4). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

function badUrl (detail: string): Error {
  return wsError('WS_ERR_CLIENT_URL', detail)
}

/**
 * Parse a WebSocket URL. RFC 6455 section 3: only the ws and wss schemes (http and https are
 * accepted as their aliases, like browsers do); a fragment is meaningless and MUST NOT be used,
 * so a URL with one is refused rather than silently truncated.
 * @throws WebSocketError WS_ERR_CLIENT_URL
 */
export function parseWebSocketUrl (input: string | URL): WebSocketTarget {
  let url: URL
  try {
    url = new URL(typeof input === 'string' ? input : input.href)
  } catch {
    throw badUrl(`${JSON.stringify(String(input).slice(0, 200))} is not a URL`)
  }
  const scheme = SCHEMES[url.protocol]
  if (scheme === undefined) throw badUrl(`scheme ${url.protocol} is not ws: or wss:`)
  if (url.hash !== '' || String(input).includes('#')) throw badUrl('a WebSocket URL must not have a fragment (RFC 6455 section 3)')
  if (url.hostname === '') throw badUrl('the URL has no host')
  if (url.protocol !== scheme) url = new URL(scheme + url.href.slice(url.protocol.length))
  const port = url.port === '' ? DEFAULT_PORT[scheme] : Number(url.port)
  const bracketed = url.hostname
  const host = bracketed.startsWith('[') ? bracketed.slice(1, -1) : bracketed
  return {
    url,
    secure: scheme === 'wss:',
    host,
    port,
    authority: `${bracketed}:${port}`,
    hostHeader: url.host, // WHATWG URL omits the default port of ws: and wss:
    path: (url.pathname === '' ? '/' : url.pathname) + url.search
  }
}

export function isRedirect (statusCode: number): boolean {
  return REDIRECT_STATUSES.has(statusCode)
}

/**
 * Where a redirect leads: `location` resolved against the current URL. Only the same scheme
 * or an upgrade from ws to wss is followed; wss to ws would send the handshake (cookies,
 * tokens) in clear text after the server asked for a secure connection.
 * @throws WebSocketError WS_ERR_CLIENT_URL
 */
export function redirectTarget (from: WebSocketTarget, location: string): WebSocketTarget {
  let resolved: string
  try {
    resolved = new URL(location, from.url).href
  } catch {
    throw badUrl(`redirect to ${JSON.stringify(location.slice(0, 200))}, which is not a URL`)
  }
  const next = parseWebSocketUrl(resolved)
  if (from.secure && !next.secure) throw badUrl(`redirect from wss: to ws: (${next.url.href}) refused`)
  return next
}

/** Same scheme, host and port: credentials may follow a redirect only within one origin. */
export function sameOrigin (a: WebSocketTarget, b: WebSocketTarget): boolean {
  return a.secure === b.secure && a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
}

/** The Authorization value for credentials written in the URL (`ws://user:pass@host/`), or undefined. */
export function basicAuthorization (url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  return 'Basic ' + Buffer.from(credentials).toString('base64')
}
