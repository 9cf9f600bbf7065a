// WebSockets over HTTP/2 (RFC 8441) on Fastify's http2 servers (`Fastify({ http2: true })`,
// with or without `https`). Node's HTTP/2 compatibility layer emits an extended CONNECT as the
// server's 'connect' event, with a request and a response object (and, with no listener, answers
// 405). Here it is routed through Fastify like the HTTP/1.1 upgrade (upgrade.ts): same routing,
// hooks, schema validation and error handler, with `method` read as GET so that it reaches the
// WebSocket route; a hook that replies sends an ordinary HTTP/2 response. route.ts completes the
// handshake (a 200, RFC 8441 section 5) and runs the engine over the stream: a Duplex whose end
// is END_STREAM and whose destroy is RST_STREAM (section 6), and whose reads stop with HTTP/2
// flow control while the socket's ReadGate has it paused.
import { Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { wsError, type WebSocketError } from '../errors'
import { isExtendedConnect, type Http2ResponseHeaders } from '../handshake/http2'
import { kUpgrade, type PendingUpgrade, type UpgradeRequest, type UpgradeState } from './upgrade'
import type { WebSocketServer } from './server'

/** The part of node:http2's server this file uses. */
interface Http2ServerLike {
  updateSettings (settings: { enableConnectProtocol?: boolean }): void
  listenerCount (event: string): number
  on (event: 'connect', listener: (...args: never[]) => void): unknown
  removeListener (event: 'connect', listener: (...args: never[]) => void): unknown
}

/** Whether `server` is one of node:http2's servers (plain or secure). */
export function isHttp2Server (server: object): server is Http2ServerLike {
  return typeof (server as Partial<Http2ServerLike>).updateSettings === 'function'
}

const EMPTY = Buffer.alloc(0)

/** The plugin's HTTP/2 side: the 'connect' listener and the sessions that carried WebSockets. */
export class Http2Upgrades {
  /**
   * sessions a WebSocket was asked for on, with how many of their streams are WebSockets (open or
   * in their handshake) now: bounded by maxHttp2WebSockets, and closed (GOAWAY) once their
   * sockets are, at app.close()
   */
  readonly sessions = new Map<Http2Session, number>()
  private readonly maxPerSession: number
  private enabled = false
  private readonly server: Http2ServerLike
  private readonly state: UpgradeState
  readonly onConnect: (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | Duplex) => void

  constructor (server: Http2ServerLike, state: UpgradeState, maxPerSession: number) {
    this.server = server
    this.state = state
    this.maxPerSession = maxPerSession
    this.onConnect = (req, res) => {
      try {
        this.start(req, res)
      } catch (err) {
        state.log?.error({ err, url: req.url }, 'WebSocket over HTTP/2 failed: stream reset')
        ;(res as Http2ServerResponse).stream?.destroy()
      }
    }
    server.on('connect', this.onConnect)
  }

  /**
   * Advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 section 3) to the sessions accepted
   * from now on. Called for the first WebSocket route only: a server that advertises it tells
   * browsers to open their WebSockets as streams of its connections.
   */
  enable (): void {
    if (this.enabled) return
    this.enabled = true
    this.server.updateSettings({ enableConnectProtocol: true })
  }

  /** Stop answering: the plugin's app is closing. */
  detach (): void {
    this.server.removeListener('connect', this.onConnect)
  }

  /** Close (GOAWAY, then once their streams are done) the sessions that carried WebSockets. */
  closeSessions (): void {
    for (const session of this.sessions.keys()) if (!session.closed && !session.destroyed) session.close()
    this.sessions.clear()
  }

  private start (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | Duplex): void {
    if (!(req instanceof Http2ServerRequest)) {
      // an HTTP/1.1 CONNECT (https with allowHTTP1): not ours; with no other listener Node
      // would have closed the connection
      if (this.server.listenerCount('connect') === 1) (res as Duplex).destroy()
      return
    }
    const response = res as Http2ServerResponse
    if (!isExtendedConnect(req.headers)) {
      // a proxy's CONNECT, or another protocol: another listener's, else Node's answer (405)
      if (this.server.listenerCount('connect') === 1) {
        response.statusCode = 405
        response.end()
      }
      return
    }
    const stream = req.stream
    if (this.state.closing) {
      refuseHttp2(response, wsError('WS_ERR_SHUTTING_DOWN'))
      return
    }
    const session = stream.session
    if (session === undefined) return // already closed
    const carried = this.sessions.get(session)
    if (carried === undefined) session.once('close', () => this.sessions.delete(session))
    else if (carried >= this.maxPerSession) {
      refuseHttp2(response, wsError('WS_ERR_HTTP2_SOCKETS', `${carried} on this connection`))
      return
    }
    this.sessions.set(session, (carried ?? 0) + 1)
    const pending: PendingUpgrade = {
      socket: stream,
      head: EMPTY,
      timer: null,
      deadline: 0,
      prev: null,
      next: null,
      waiting: false,
      deadlines: null,
      req: null,
      upgraded: false,
      timedOut: false,
      routed: true,
      http2: true,
      startedAt: performance.timeOrigin + performance.now(),
      route: null,
      error: null,
      counters: this.state.counters ?? null
    }
    pending.timer = setTimeout(onHandshakeTimeout, this.state.handshakeTimeout, pending, response)
    stream.once('close', () => {
      if (pending.timer !== null) clearTimeout(pending.timer)
      pending.timer = null
      const n = this.sessions.get(session)
      if (n !== undefined) this.sessions.set(session, n - 1)
    })
    ;(req as unknown as UpgradeRequest)[kUpgrade] = pending
    // Fastify routes it as the GET of the WebSocket route (the same route as an HTTP/1.1 upgrade)
    ;(req as { method: string }).method = 'GET'
    this.state.routing(req as unknown as IncomingMessage, response as never)
  }
}

/** A refusal before routing (shutting down, timed out), shaped like Fastify's error replies. */
function refuseHttp2 (res: Http2ServerResponse, err: WebSocketError): void {
  if (res.headersSent || res.stream.destroyed) {
    res.stream.destroy()
    return
  }
  const status = err.statusCode ?? 500
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ statusCode: status, code: err.code, error: STATUS_CODES[status], message: err.message }))
}

function onHandshakeTimeout (pending: PendingUpgrade, res: Http2ServerResponse): void {
  pending.timer = null
  if (pending.upgraded) return
  pending.timedOut = true
  refuseHttp2(res, wsError('WS_ERR_HANDSHAKE_TIMEOUT'))
}

/**
 * ws's 'headers' event for a 200 over HTTP/2: listeners get `HTTP/2 200` and `name: value`
 * lines and may push more; what they added is read back.
 */
export function emitHttp2Headers (server: WebSocketServer, headers: Http2ResponseHeaders, request: IncomingMessage): Http2ResponseHeaders {
  const lines = ['HTTP/2 200']
  for (const name in headers) if (name[0] !== ':') lines.push(`${name}: ${String(headers[name])}`)
  const before = lines.length
  server.emit('headers', lines, request)
  const out = { ...headers }
  for (let i = before; i < lines.length; i++) {
    const colon = lines[i].indexOf(':')
    if (colon <= 0) continue
    out[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim()
  }
  return out
}

/** Hand the stream over from the pending state to a WebSocket and send the 200. */
export function acceptHttp2Stream (pending: PendingUpgrade, headers: Http2ResponseHeaders): void {
  pending.upgraded = true
  if (pending.timer !== null) clearTimeout(pending.timer)
  pending.timer = null
  const stream = pending.socket as ServerHttp2Stream
  // no idle timeout on a WebSocket's stream (the heartbeat option is the WebSocket's own)
  stream.setTimeout(0)
  stream.respond(headers)
}
