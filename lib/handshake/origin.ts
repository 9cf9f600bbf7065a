// Origin checks against cross-site WebSocket hijacking. Browsers always send Origin on a
// WebSocket handshake (RFC 6455 section 4.1 item 8, section 10.2), and a server that accepts
// any origin lets any web page open an authenticated socket with the user's cookies. The
// server MAY refuse an origin it does not accept with a 403 (section 4.2.2 step 4); the caller
// sends that response (WS_ERR_HANDSHAKE_ORIGIN), this file only decides.
import { wsError } from '../errors'
import { isPromiseLike } from '../engine/promise-like'

/**
 * Which origins may open a socket:
 * - a list of entries, each `'*'` (any origin), an exact origin such as
 *   `'https://example.com'` or `'http://localhost:3000'`, a leading-wildcard host such as
 *   `'https://*.example.com'` (any subdomain at any depth, but not `example.com` itself:
 *   list both if both are wanted), or `'null'` for the opaque origin of sandboxed frames and
 *   `file:` pages (never allowed unless listed);
 * - or a function deciding from the Origin header (undefined when absent) and the request.
 */
export type OriginPolicy<Req = unknown> =
  | readonly string[]
  | ((origin: string | undefined, req: Req) => boolean | Promise<boolean>)

export interface OriginPolicyOptions {
  /**
   * Refuse requests without an Origin header. Off by default: browsers always send Origin, so
   * a request without one comes from a non-browser client (a server, a CLI), which a
   * cross-site attack cannot drive; such clients can forge any Origin anyway.
   */
  requireOrigin?: boolean
}

/** A compiled policy: true when the origin may connect. Sync for lists, maybe async for functions. */
export type OriginChecker<Req = unknown> = (origin: string | undefined, req: Req) => boolean | Promise<boolean>

interface ParsedOrigin {
  scheme: string
  host: string
  /** '' when absent or the scheme's default port */
  port: string
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' }
const SCHEME = /^[a-z][a-z0-9+.-]*$/
const PORT = /^[0-9]{1,5}$/
/** Characters that cannot appear in the host of a serialized origin (RFC 6454 section 6.2). */
const NOT_HOST = /[\s/?#@\\[\]]/

/**
 * Parse a serialized origin `scheme "://" host [ ":" port ]` (RFC 6454 section 6.2). Scheme and
 * host are lowercased (both are case-insensitive) and a default port is dropped, so
 * `HTTPS://Example.com:443` and `https://example.com` compare equal. Paths, userinfo, queries
 * and anything else that an Origin header never carries make the value invalid (undefined).
 */
function parseOrigin (value: string): ParsedOrigin | undefined {
  const sep = value.indexOf('://')
  if (sep <= 0) return undefined
  const scheme = value.slice(0, sep).toLowerCase()
  if (!SCHEME.test(scheme)) return undefined
  const authority = value.slice(sep + 3).toLowerCase()
  let host: string
  let port: string | undefined // undefined when no ':' follows the host
  if (authority.startsWith('[')) { // IPv6 literal, e.g. http://[::1]:8080
    const close = authority.indexOf(']')
    if (close < 0) return undefined
    host = authority.slice(0, close + 1)
    const rest = authority.slice(close + 1)
    if (rest !== '') {
      if (rest[0] !== ':') return undefined
      port = rest.slice(1)
    }
    if (NOT_HOST.test(host.slice(1, -1))) return undefined
  } else {
    const colon = authority.indexOf(':')
    host = colon < 0 ? authority : authority.slice(0, colon)
    if (colon >= 0) port = authority.slice(colon + 1)
    if (host === '' || NOT_HOST.test(host)) return undefined
  }
  if (port === undefined) return { scheme, host, port: '' }
  if (!PORT.test(port)) return undefined
  port = String(Number(port))
  return { scheme, host, port: DEFAULT_PORTS[scheme] === port ? '' : port }
}

function serialize (o: ParsedOrigin): string {
  return o.port === '' ? `${o.scheme}://${o.host}` : `${o.scheme}://${o.host}:${o.port}`
}

interface WildcardEntry {
  scheme: string
  /** the host suffix including its leading dot, e.g. '.example.com' */
  suffix: string
  port: string
}

function invalidEntry (entry: string, why: string): Error {
  return wsError('WS_ERR_INVALID_OPTION', `allowed origin ${JSON.stringify(entry)}: ${why}`)
}

/** Compile a list policy; throws on entries that can never match, so typos fail at startup. */
function compileList (entries: readonly string[]): { any: boolean, exact: Set<string>, wildcards: WildcardEntry[] } {
  const exact = new Set<string>()
  const wildcards: WildcardEntry[] = []
  let any = false
  for (const entry of entries) {
    if (typeof entry !== 'string') throw invalidEntry(String(entry), 'not a string')
    if (entry === '*') { any = true; continue }
    if (entry === 'null') { exact.add('null'); continue }
    const wildcard = /^([^:]+:\/\/)\*(\..*)$/.exec(entry)
    const parsed = parseOrigin(wildcard === null ? entry : `${wildcard[1]}x${wildcard[2]}`)
    if (parsed === undefined) throw invalidEntry(entry, 'expected scheme://host[:port], scheme://*.domain[:port], * or null')
    if (wildcard === null) {
      if (parsed.host.includes('*')) throw invalidEntry(entry, 'a wildcard must be the whole leftmost label (scheme://*.domain)')
      exact.add(serialize(parsed))
    } else {
      const suffix = parsed.host.slice(1) // drop the placeholder label, keep the dot
      if (suffix.includes('*') || suffix === '.') throw invalidEntry(entry, 'a wildcard must be the whole leftmost label (scheme://*.domain)')
      wildcards.push({ scheme: parsed.scheme, suffix, port: parsed.port })
    }
  }
  return { any, exact, wildcards }
}

/**
 * Turn a policy into a checker, once, at startup.
 *
 * List policies compare origins ASCII case-insensitively after dropping default ports (80 for
 * http/ws, 443 for https/wss); an Origin header that is not a well-formed serialized origin
 * matches nothing but `'*'`, and so does a repeated Origin header. A missing Origin is allowed
 * unless `requireOrigin` is set, even by an empty list (which then admits only non-browser
 * clients). Function policies are called as they are, except that with `requireOrigin` a
 * missing Origin is refused without calling them; their answer is coerced to a boolean and
 * their errors (thrown or rejected) reach the caller.
 *
 * @throws WebSocketError WS_ERR_INVALID_OPTION for a list entry that is not a valid origin
 */
export function compileOriginPolicy<Req = unknown> (policy: OriginPolicy<Req>, options: OriginPolicyOptions = {}): OriginChecker<Req> {
  const requireOrigin = options.requireOrigin === true
  if (typeof policy === 'function') {
    return (origin, req) => {
      if (origin === undefined && requireOrigin) return false
      const result = policy(origin, req)
      return isPromiseLike(result) ? Promise.resolve(result).then(Boolean) : Boolean(result)
    }
  }
  if (!Array.isArray(policy)) throw wsError('WS_ERR_INVALID_OPTION', 'allowed origins must be an array of strings or a function')
  const { any, exact, wildcards } = compileList(policy)
  return (origin) => {
    if (origin === undefined) return !requireOrigin
    if (any) return true
    if (origin === 'null') return exact.has('null')
    const parsed = parseOrigin(origin)
    if (parsed === undefined) return false
    if (exact.has(serialize(parsed))) return true
    for (const w of wildcards) {
      if (w.scheme === parsed.scheme && w.port === parsed.port &&
        parsed.host.length > w.suffix.length && parsed.host.endsWith(w.suffix)) return true
    }
    return false
  }
}
