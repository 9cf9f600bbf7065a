// connect(): open a client WebSocket over ws:// or wss://, optionally through an HTTP CONNECT
// proxy and across redirects, and resolve with the same WebSocket class the server uses. With
// `http2`, the opening goes over an HTTP/2 stream first (http2.ts, RFC 8441).
//
// The HTTP exchange goes through node:http's ClientRequest with the 'upgrade' event rather than
// a request writer of our own: Node's parser already bounds the response head (size and header
// count), handles folded and repeated headers, and hands over the bytes that followed the 101
// (`head`). We always pass `createConnection`, so no Agent pools or reuses these sockets, and we
// build the socket ourselves: net, TLS, or TLS over a proxy tunnel, the same way for all three.
import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { generateKey } from '../handshake/accept'
import { buildClientRequestHeaders, validateServerHandshake } from '../handshake/client'
import type { HeaderFieldValue } from '../handshake/response'
import { WebSocket } from '../socket'
import { sessionOf } from '../session'
import { clientContext } from '../client-context'
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options'
import { openTunnel } from './proxy'
import { Http2Opening } from './http2'
import { handshakeRefusal } from './refusal'
import { armAttempt, disarmAttempt } from './attempt'
import { basicAuthorization, isRedirect, parseWebSocketUrl, redirectTarget, sameOrigin, type WebSocketTarget } from './url'

/**
 * Open a WebSocket. Resolves once the handshake succeeded (the socket is OPEN: send at once).
 * Messages the server sent together with its 101 are delivered after the caller's continuation
 * ran, so listeners attached right after `await connect(...)` see them.
 *
 * Rejects with a WebSocketError: WS_ERR_CLIENT_URL (bad URL or scheme, refused redirect
 * target), WS_ERR_CLIENT_HANDSHAKE (an HTTP refusal, with `statusCode` and `headers`, or a 101
 * that breaks RFC 6455 section 4.1), WS_ERR_CLIENT_EXTENSION, WS_ERR_CLIENT_REDIRECTS,
 * WS_ERR_CLIENT_TIMEOUT, WS_ERR_INVALID_OPTION / WS_ERR_INVALID_HEADER; with Node's own error
 * for network and TLS failures (ECONNREFUSED, certificate errors); or with `signal.reason`.
 */
export function connect (url: string | URL, options: ClientOptions = {}): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    let settings: ResolvedClientOptions
    let target: WebSocketTarget
    try {
      settings = resolveClientOptions(options)
      target = parseWebSocketUrl(url)
    } catch (err) {
      reject(err)
      return
    }
    const http1 = (): void => new Opening(settings, resolve, reject).start(target)
    if (settings.http2 === false) http1()
    else new Http2Opening(settings, target, settings.http2 === true ? null : settings.http2, resolve, reject, http1).start()
  })
}

/** One connect() call: a deadline over every step, and whatever is in flight to abort. */
class Opening {
  private done = false
  private timer: NodeJS.Timeout | null = null
  private redirects = 0
  private headers: Record<string, HeaderFieldValue | undefined>
  /** what is in flight now, destroyed on failure */
  private tunnelRequest: ClientRequest | null = null
  private request: ClientRequest | null = null
  private stream: Socket | null = null

  constructor (private readonly settings: ResolvedClientOptions, private readonly resolve: (ws: WebSocket) => void,
    private readonly reject: (err: unknown) => void) {
    this.headers = { ...settings.headers }
  }

  start (target: WebSocketTarget): void {
    this.timer = armAttempt(this.settings, this.onAbort, err => this.fail(err), this.reject)
    if (this.timer === null) return
    this.dial(target)
  }

  private readonly onAbort = (): void => {
    this.fail(this.settings.signal?.reason)
  }

  private dial (target: WebSocketTarget): void {
    const proxy = this.settings.proxy
    if (proxy === null) {
      this.handshake(target, this.transport(target, null))
      return
    }
    this.tunnelRequest = openTunnel(proxy, target.authority, (err, tunnel) => {
      this.tunnelRequest = null
      if (this.done) {
        tunnel?.destroy()
      } else if (err !== null || tunnel === undefined) {
        this.fail(err)
      } else {
        this.handshake(target, this.transport(target, tunnel))
      }
    })
  }

  /** A TCP or TLS socket to the target, or TLS inside the proxy's tunnel. */
  private transport (target: WebSocketTarget, tunnel: Socket | null): Socket {
    let stream: Socket
    if (target.secure) {
      const tls = this.settings.tls
      stream = tlsConnect({
        ...tls,
        socket: tunnel ?? undefined,
        host: target.host,
        port: target.port,
        // SNI names a host, never an address (RFC 6066 section 3); the identity check still
        // runs against `host` when there is no servername
        servername: tls.servername ?? (isIP(target.host) === 0 ? target.host : undefined)
      })
      if (tunnel !== null) tunnel.once('error', err => stream.destroy(err))
    } else {
      stream = tunnel ?? netConnect({ host: target.host, port: target.port })
    }
    this.stream = stream
    return stream
  }

  private handshake (target: WebSocketTarget, stream: Socket): void {
    const settings = this.settings
    const key = generateKey()
    let headers: Record<string, string | string[]>
    try {
      headers = buildClientRequestHeaders({
        key,
        protocols: settings.protocols,
        extensions: settings.extensions.offer(),
        headers: this.headers,
        origin: settings.origin
      })
    } catch (err) {
      this.fail(err)
      return
    }
    const names = Object.keys(headers).map(name => name.toLowerCase())
    // RFC 6455 section 4.1 item 4: the request MUST have a Host header
    if (!names.includes('host')) headers.Host = target.hostHeader
    const auth = basicAuthorization(target.url)
    if (auth !== undefined && !names.includes('authorization')) headers.Authorization = auth

    const req = request({ method: 'GET', path: target.path, headers, setHost: false, createConnection: () => stream })
    this.request = req
    req.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(res, socket, head, key, target.url.href))
    req.once('response', (res: IncomingMessage) => this.onResponse(target, res, key))
    // stays attached, and ignores this request once it is no longer the current one (a
    // redirect, or the end of the opening): destroying it may still report an error
    req.on('error', err => {
      if (this.request === req) this.fail(err)
    })
    req.end()
  }

  private onUpgrade (res: IncomingMessage, socket: Socket, head: Buffer, key: string, url: string): void {
    if (this.done) {
      socket.destroy()
      return
    }
    const settings = this.settings
    let protocol: string
    let extensions
    try {
      // RFC 6455 section 4.1: the client MUST validate the server's response (status, Upgrade,
      // Connection, Sec-WebSocket-Accept, subprotocol, extensions) and fail otherwise
      const info = validateServerHandshake(res.statusCode, res.headers, key, settings.protocols)
      protocol = info.protocol
      extensions = settings.extensions.accept(info.extensions, settings.connection.maxPayload ?? 0)
    } catch (err) {
      socket.destroy()
      this.fail(err)
      return
    }
    this.finish()
    socket.setNoDelay(true)
    // The bytes that came with the 101 are parsed before anything read later; the messages in
    // them (and after) are held until the caller's code after `await connect()` has attached
    // its listeners, then delivered in order.
    const ws = new WebSocket(socket, { ...settings.connection, deflate: extensions.deflate }, clientContext(settings),
      protocol, extensions.header, settings.log, { head, hold: true, sharedReads: settings.sharedReads, url })
    this.resolve(ws)
    setImmediate(releaseHeld, ws)
  }

  private onResponse (target: WebSocketTarget, res: IncomingMessage, key: string): void {
    res.resume() // the body is not needed; let the socket go
    const status = res.statusCode ?? 0
    const location = res.headers.location
    if (isRedirect(status) && location !== undefined) {
      this.redirect(target, res, location)
      return
    }
    let detail = `server answered HTTP ${status}${res.statusMessage === undefined ? '' : ' ' + res.statusMessage}`
    if (status === 101) {
      // a 101 Node did not take for an upgrade: say which header is wrong
      try {
        validateServerHandshake(status, res.headers, key, this.settings.protocols)
      } catch (err) {
        detail = (err as Error).message
      }
    }
    this.fail(handshakeRefusal('WS_ERR_CLIENT_HANDSHAKE', detail, res))
  }

  private redirect (from: WebSocketTarget, res: IncomingMessage, location: string): void {
    if (this.redirects >= this.settings.maxRedirects) {
      this.fail(handshakeRefusal('WS_ERR_CLIENT_REDIRECTS',
        `HTTP ${res.statusCode ?? 0} to ${location.slice(0, 200)} not followed (maxRedirects ${this.settings.maxRedirects})`, res))
      return
    }
    let next: WebSocketTarget
    try {
      next = redirectTarget(from, location)
    } catch (err) {
      this.fail(err)
      return
    }
    this.redirects++
    // credentials meant for one origin must not be replayed to another, and a Host set for
    // the first origin would name the wrong one
    if (!sameOrigin(from, next)) {
      for (const name of Object.keys(this.headers)) {
        const lower = name.toLowerCase()
        if (lower === 'authorization' || lower === 'cookie' || lower === 'host') delete this.headers[name]
      }
    }
    this.release()
    this.dial(next)
  }

  /** Destroy whatever is in flight (the request's listeners stay, to absorb late errors). */
  private release (): void {
    this.tunnelRequest?.destroy()
    this.request?.destroy()
    this.stream?.destroy()
    this.tunnelRequest = null
    this.request = null
    this.stream = null
  }

  /** Stop the deadline and the abort listener: the opening is over, one way or the other. */
  private finish (): void {
    this.done = true
    disarmAttempt(this.settings, this.timer, this.onAbort)
    this.timer = null
    this.tunnelRequest = null
    this.request = null
    this.stream = null
  }

  private fail (err: unknown): void {
    if (this.done) return
    this.release()
    this.finish()
    this.reject(err)
  }
}

/** Deliver what arrived with and after the 101, once the caller's listeners are attached. */
function releaseHeld (ws: WebSocket): void {
  sessionOf(ws).release()
}
