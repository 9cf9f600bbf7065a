// connect(url, { http2 }): a client WebSocket on a stream of an HTTP/2 connection (RFC 8441).
// `http2: true` opens a connection of its own (h2c for ws://, TLS with ALPN h2 for wss://),
// closed with the WebSocket; `http2: session` opens the WebSocket on the caller's
// ClientHttp2Session, so that many share one connection (left open). Where the server does not
// speak HTTP/2, or does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (section 3), a connection
// of our own gives way to the ordinary HTTP/1.1 upgrade; on the caller's session that fails with
// WS_ERR_CLIENT_HANDSHAKE.
import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2'
import { isIP } from 'node:net'
import { wsError } from '../errors'
import { buildClientRequestHeaders } from '../handshake/client'
import { buildExtendedConnectHeaders, validateHttp2Accept } from '../handshake/http2'
import { WebSocket } from '../socket'
import { sessionOf } from '../session'
import { clientContext } from '../client-context'
import type { ResolvedClientOptions } from './options'
import { handshakeRefusal } from './refusal'
import { armAttempt, disarmAttempt } from './attempt'
import type { WebSocketTarget } from './url'

/**
 * Errors before the server's SETTINGS that mean "no HTTP/2 here": an HTTP/1.1 server answering
 * the h2c preface (a protocol error, or the connection closed under the PING), a TLS server
 * without h2 in ALPN. Anything else (refused, reset, an untrusted certificate) fails the opening.
 */
const NOT_HTTP2 = new Set(['ERR_HTTP2_ERROR', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_PING_CANCEL',
  'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL'])

/** One connect() over HTTP/2: a deadline over every step, and what to tear down on failure. */
export class Http2Opening {
  private done = false
  private timer: NodeJS.Timeout | null = null
  private session: ClientHttp2Session | null = null
  private stream: ClientHttp2Stream | null = null
  /** the session is ours (http2: true): closed with the WebSocket, or when the opening fails */
  private readonly own: boolean

  constructor (private readonly settings: ResolvedClientOptions, private readonly target: WebSocketTarget,
    private readonly given: ClientHttp2Session | null, private readonly resolve: (ws: WebSocket) => void,
    private readonly reject: (err: unknown) => void, private readonly fallback: () => void) {
    this.own = given === null
  }

  start (): void {
    this.timer = armAttempt(this.settings, this.onAbort, err => this.fail(err), this.reject)
    if (this.timer === null) return
    const target = this.target
    let session = this.given
    if (session === null) {
      const tls = this.settings.tls
      session = http2Connect(`${target.secure ? 'https' : 'http'}://${target.authority}`, target.secure
        ? { ...tls, servername: tls.servername ?? (isIP(target.host) === 0 ? target.host : undefined) }
        : {})
      // before the settings: no HTTP/2 here (an HTTP/1.1 server, ALPN without h2): upgrade instead
      session.once('error', this.onEarlyError)
      // later errors reach the streams (their WebSockets close with 1006); kept off the process
      session.on('error', noop)
    }
    this.session = session
    supportsExtendedConnect(session).then(yes => {
      if (this.done) return
      if (yes) this.request()
      else this.noExtendedConnect()
    }, (err: Error) => this.onEarlyError(err))
  }

  private readonly onAbort = (): void => {
    this.fail(this.settings.signal?.reason)
  }

  private readonly onEarlyError = (err: Error): void => {
    if (this.done || this.stream !== null) return
    if (this.own && NOT_HTTP2.has((err as NodeJS.ErrnoException).code ?? '')) this.giveWay()
    else this.fail(err)
  }

  /** The server does not take WebSockets over HTTP/2 (RFC 8441 section 3: no setting, no extended CONNECT). */
  private noExtendedConnect (): void {
    if (this.own) this.giveWay()
    else this.fail(wsError('WS_ERR_CLIENT_HANDSHAKE', 'the HTTP/2 server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441)'))
  }

  /** Close our session and open the WebSocket the HTTP/1.1 way (a fresh deadline, as a new attempt). */
  private giveWay (): void {
    this.finish()
    this.session?.destroy()
    this.session = null
    this.fallback()
  }

  private request (): void {
    const settings = this.settings
    let headers
    try {
      headers = buildExtendedConnectHeaders({ secure: this.target.secure, authority: this.target.hostHeader, path: this.target.path },
        buildClientRequestHeaders({
          key: 'unused', // RFC 8441 section 5: no Sec-WebSocket-Key; dropped from what is sent
          protocols: settings.protocols,
          extensions: settings.extensions.offer(),
          headers: settings.headers,
          origin: settings.origin
        }))
    } catch (err) {
      this.fail(err)
      return
    }
    const session = this.session as ClientHttp2Session
    let stream: ClientHttp2Stream
    try {
      stream = session.request(headers)
    } catch (err) {
      this.fail(err)
      return
    }
    this.stream = stream
    stream.on('error', noop) // reported through 'close' (a reset before the response fails the opening)
    stream.once('close', () => {
      if (!this.done) this.fail(wsError('WS_ERR_CLIENT_HANDSHAKE', `the stream closed before a response (code ${stream.rstCode ?? 0})`))
      else if (this.own) session.close()
    })
    stream.once('response', (res: IncomingHttpHeaders) => this.onResponse(stream, res))
  }

  private onResponse (stream: ClientHttp2Stream, res: IncomingHttpHeaders): void {
    if (this.done) return
    const status = Number(res[':status'] ?? 0)
    if (status < 200 || status > 299) {
      // the body is not needed; the stream and (ours) the session go with the failure
      this.fail(handshakeRefusal('WS_ERR_CLIENT_HANDSHAKE', `server answered HTTP ${status}`, { statusCode: status, headers: res }))
      return
    }
    const settings = this.settings
    let protocol
    let extensions
    try {
      const info = validateHttp2Accept(res, settings.protocols)
      protocol = info.protocol
      extensions = settings.extensions.accept(info.extensions, settings.connection.maxPayload ?? 0)
    } catch (err) {
      this.fail(err)
      return
    }
    this.finish()
    // messages are held until the caller's code after `await connect()` has attached listeners
    const ws = new WebSocket(stream, { ...settings.connection, deflate: extensions.deflate }, clientContext(settings),
      protocol, extensions.header, settings.log, { hold: true, sharedReads: false, url: this.target.url.href })
    this.resolve(ws)
    setImmediate(releaseHeld, ws)
  }

  private finish (): void {
    this.done = true
    disarmAttempt(this.settings, this.timer, this.onAbort)
    this.timer = null
    this.session?.removeListener('error', this.onEarlyError)
  }

  private fail (err: unknown): void {
    if (this.done) return
    this.finish()
    this.stream?.destroy()
    if (this.own) this.session?.destroy()
    this.reject(err)
  }
}

/** per session, whether its server takes extended CONNECT: asked once, however many open at once */
const checked = new WeakMap<ClientHttp2Session, Promise<boolean>>()

/**
 * Whether the server advertised SETTINGS_ENABLE_CONNECT_PROTOCOL. Its SETTINGS frame is the first
 * it sends (RFC 9113 section 3.4), so once a PING of ours is answered the setting is known; a
 * PING sent before the session is connected would be cancelled, so it waits for 'connect'.
 */
function supportsExtendedConnect (session: ClientHttp2Session): Promise<boolean> {
  if (session.remoteSettings?.enableConnectProtocol === true) return Promise.resolve(true)
  let answer = checked.get(session)
  if (answer === undefined) {
    answer = new Promise<boolean>((resolve, reject) => {
      const ping = (): void => {
        session.ping(err => {
          if (err != null) reject(err)
          else resolve(session.remoteSettings.enableConnectProtocol === true)
        })
      }
      if (session.connecting) session.once('connect', ping)
      else ping()
    })
    checked.set(session, answer)
  }
  return answer
}

function releaseHeld (ws: WebSocket): void {
  sessionOf(ws).release()
}

function noop (): void {}
