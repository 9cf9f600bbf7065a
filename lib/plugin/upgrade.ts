// The HTTP server's 'upgrade' listener: every upgrade request is run through Fastify's own
// routing (params, hooks, schema validation, error handler) with a ServerResponse bound to the
// raw socket, so a hook that replies or throws produces a real HTTP response on that socket.
// The route handler (route.ts) completes the handshake; this file owns the socket until then.
//
// Whatever arrives, nothing here may throw out of the 'upgrade' emit: Node's HTTP server calls
// the listener from its parser callback, so an exception there is uncaught and ends the process.
// A socket that another 'upgrade' listener already answered is left to it; an upgrade request
// pipelined behind a response still being written waits for that response (HTTP/1.1 answers
// requests in order, RFC 9112 section 9.3.2), bounded by handshakeTimeout.
import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { buildHttpResponse } from '../handshake/response'
import { wsError, type WebSocketError } from '../errors'
import { HandshakeDeadlines } from './deadlines'
import type { PluginCounters } from '../stats'
import { handshakeRefused, type HandshakeRefusedMessage } from '../diagnostics'

export const kUpgrade = Symbol('fastify-rfc6455.upgrade')

/** An upgrade request between the 'upgrade' event and the 101 (or a refusal). */
export interface PendingUpgrade {
  socket: Duplex
  head: Buffer
  /** when handshakeTimeout runs out (performance.now() ms); in its plugin's deadline list until then */
  deadline: number
  /** neighbours in the deadline list (see HandshakeDeadlines); null at either end or once out of it */
  prev: PendingUpgrade | null
  next: PendingUpgrade | null
  /** in the deadline list: the handshake is neither complete nor timed out nor closed */
  waiting: boolean
  /** the deadline list of the plugin instance that took this upgrade */
  deadlines: HandshakeDeadlines<PendingUpgrade> | null
  /** HTTP/2 streams only (http2.ts): their own handshake timer, as they answer a timeout differently */
  timer?: NodeJS.Timeout | null
  /** an extended CONNECT on an HTTP/2 stream (RFC 8441, http2.ts): `socket` is the stream */
  http2?: boolean
  /** the upgrade request, for the refusal counted at a handshake timeout */
  req: IncomingMessage | null
  /** when the upgrade request arrived (performance.timeOrigin + performance.now()) */
  startedAt: number
  /** the route's URL pattern once routing found it (onRequest), for refusals */
  route: string | null
  /** the code of the error a refusal answers (Fastify's onError hook), null for a hook's own reply */
  error: string | null
  /** where refusals are counted */
  counters: PluginCounters | null
  /** the handshake completed and the socket belongs to a WebSocket now */
  upgraded: boolean
  /** the handshake timeout fired: whatever the hooks do later is discarded */
  timedOut: boolean
  /** Fastify routing has started: a ServerResponse of ours is bound to the socket */
  routed: boolean
}

export type UpgradeRequest = IncomingMessage & { [kUpgrade]?: PendingUpgrade }

/** The part of Fastify's logger this file uses. */
export interface UpgradeLog {
  debug (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export interface UpgradeState {
  handshakeTimeout: number
  closing: boolean
  routing: (req: IncomingMessage, res: ServerResponse) => void
  /** where what never reaches the application is logged (refusals, failures of the listener) */
  log?: UpgradeLog
  /** the upgrades waiting for their 101, oldest first (made on the first upgrade) */
  deadlines?: HandshakeDeadlines<PendingUpgrade>
  /** the counters of app.websocketStats(): refusals by status */
  counters?: PluginCounters
}

const kWrittenBefore = Symbol('fastify-rfc6455.writtenBefore')

/** The fields of Node's HTTP server socket this file reads (`_httpMessage`: the response being written). */
type UpgradeSocket = Duplex & {
  _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null
  bytesWritten?: number
  [kWrittenBefore]?: number
  [kUpgrade]?: PendingUpgrade
}

/** Shared by every pending socket: a reset before the upgrade completes just tears it down. */
function onPendingSocketError (this: Duplex): void {
  this.destroy()
}

function onPendingSocketClose (this: Duplex & { [kUpgrade]?: PendingUpgrade }): void {
  const pending = this[kUpgrade]
  if (pending === undefined) return
  this[kUpgrade] = undefined
  pending.deadlines?.remove(pending)
}

/**
 * Write a raw HTTP refusal on an upgrade socket and close it once written. The body has the shape
 * of Fastify's error replies (`{ statusCode, code, error, message }`), as every refusal after
 * routing has, so that a client reads one shape whichever stage refused it.
 */
export function refuseRaw (socket: Duplex, err: WebSocketError, headers: Record<string, string> = {}): void {
  if (socket.destroyed || socket.writableEnded) return
  const status = err.statusCode ?? 500
  const body = JSON.stringify({ statusCode: status, code: err.code, error: STATUS_CODES[status], message: err.message })
  socket.end(buildHttpResponse(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body))
  // do not wait for a peer that never reads its response
  socket.once('finish', destroyStream)
}

function destroyStream (this: Duplex): void { this.destroy() }

function onHandshakeTimeout (pending: PendingUpgrade): void {
  if (pending.upgraded) return
  pending.timedOut = true
  // still behind another response being written: a 503 now would land inside it
  if (!pending.routed && (pending.socket as UpgradeSocket)._httpMessage != null) {
    pending.socket.destroy()
    return
  }
  const err = wsError('WS_ERR_HANDSHAKE_TIMEOUT')
  refuseRaw(pending.socket, err)
  if (pending.req !== null) noteRefusal(pending.counters, pending.req, err.statusCode ?? 500, err.code, pending.route, pending.startedAt)
}

/** Count a refused upgrade request and tell the handshake:refused channel. */
function noteRefusal (counters: PluginCounters | null | undefined, request: IncomingMessage, status: number, code: string | null,
  route: string | null, handshakeStart: number): void {
  counters?.refusal(status)
  if (handshakeRefused.hasSubscribers) handshakeRefused.publish({ request, status, code, route, handshakeStart } satisfies HandshakeRefusedMessage)
}

function onRefusalFinished (this: ServerResponse & { [kUpgrade]?: PendingUpgrade, req?: IncomingMessage }): void {
  const pending = this[kUpgrade]
  if (pending === undefined || pending.upgraded) return
  // after the timeout's 503, what the hooks answer is discarded: counted once
  if (!pending.timedOut && this.req !== undefined) noteRefusal(pending.counters, this.req, this.statusCode, pending.error, pending.route, pending.startedAt)
  const socket = pending.socket
  if (!socket.destroyed) {
    socket.end()
    socket.once('finish', destroyStream)
  }
}

/**
 * Prepended to the server's 'upgrade' listeners: notes what the socket had written when the
 * event began, so that a listener running before ours and answering the request is noticed.
 */
export function markUpgrade (this: EventEmitter, _req: IncomingMessage, socket: Duplex): void {
  // only this mark and the plugin's listener: nothing runs before ours (listeners added later run
  // after it), and bytesWritten, which walks the socket's write buffer, need not be read
  if (this.listenerCount('upgrade') <= 2) return
  const s = socket as UpgradeSocket
  if (typeof s.bytesWritten === 'number') s[kWrittenBefore] = s.bytesWritten
}

/** Why this socket is not ours to answer (another listener has it, or it is gone), or null. */
function takenBy (req: IncomingMessage, socket: UpgradeSocket): string | null {
  const before = socket[kWrittenBefore]
  socket[kWrittenBefore] = undefined
  if (socket.destroyed) return 'the socket is already destroyed'
  if (socket.writableEnded || !socket.writable) return 'the socket is already ended'
  if (socket[kUpgrade] !== undefined) return 'the upgrade event came twice for this socket'
  if (socket._httpMessage != null && socket._httpMessage.req === req) return 'another listener is answering it'
  if (before !== undefined && socket.bytesWritten !== before) return 'another listener wrote to the socket'
  if (socket.readableFlowing === true || socket.listenerCount('data') > 0) return 'another listener reads the socket'
  return null
}

export function createUpgradeListener (state: UpgradeState): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function onUpgrade (req: UpgradeRequest, socket: Duplex, head: Buffer): void {
    try {
      startUpgrade(state, req, socket as UpgradeSocket, head)
    } catch (err) {
      failUpgrade(state, req, socket, err)
    }
  }
}

function startUpgrade (state: UpgradeState, req: UpgradeRequest, socket: UpgradeSocket, head: Buffer): void {
  const taken = takenBy(req, socket)
  if (taken !== null) {
    state.log?.debug({ url: req.url, reason: taken }, 'WebSocket upgrade request left alone: ' + taken)
    return
  }
  socket.on('error', onPendingSocketError)
  if (state.closing) {
    // behind a response still being written, a 503 would land inside it: just close
    if (socket._httpMessage != null) {
      socket.destroy()
      return
    }
    const err = wsError('WS_ERR_SHUTTING_DOWN')
    refuseRaw(socket, err)
    noteRefusal(state.counters, req, err.statusCode ?? 500, err.code, null, performance.timeOrigin + performance.now())
    return
  }
  const deadlines = state.deadlines ??= new HandshakeDeadlines<PendingUpgrade>(state.handshakeTimeout, onHandshakeTimeout)
  const pending: PendingUpgrade = {
    socket,
    head,
    deadline: 0,
    prev: null,
    next: null,
    waiting: false,
    upgraded: false,
    timedOut: false,
    routed: false,
    deadlines,
    req,
    startedAt: performance.timeOrigin + performance.now(),
    route: null,
    error: null,
    counters: state.counters ?? null
  }
  deadlines.add(pending)
  socket[kUpgrade] = pending
  socket.on('close', onPendingSocketClose)
  req[kUpgrade] = pending
  if (socket._httpMessage != null) {
    // pipelined behind a request whose response is still being written: Node's server has left
    // that response bound to the socket; ours goes out after it, as HTTP/1.1 requires
    state.log?.debug({ url: req.url }, 'WebSocket upgrade request pipelined behind a response in flight: routed once it is written')
    afterResponsesInFlight(state, req, pending)
    return
  }
  route(state, req, pending)
}

/** Route `req` once no earlier response is bound to the socket (each one's 'finish' hands over to the next). */
function afterResponsesInFlight (state: UpgradeState, req: UpgradeRequest, pending: PendingUpgrade): void {
  const socket = pending.socket as UpgradeSocket
  const inFlight = socket._httpMessage
  if (inFlight == null) {
    route(state, req, pending)
    return
  }
  // Node's own 'finish' listener, added before any user code ran, has detached it (and bound the
  // next pipelined response, if any) by the time this one runs
  inFlight.once('finish', () => {
    if (pending.timedOut || socket.destroyed || socket.writableEnded) return
    try {
      afterResponsesInFlight(state, req, pending)
    } catch (err) {
      failUpgrade(state, req, socket, err)
    }
  })
}

function route (state: UpgradeState, req: UpgradeRequest, pending: PendingUpgrade): void {
  const res = new ServerResponse(req) as ServerResponse & { [kUpgrade]?: PendingUpgrade }
  // a refusal closes the connection: no keep-alive on a socket that asked to upgrade
  res.shouldKeepAlive = false
  res.assignSocket(pending.socket as Socket)
  res[kUpgrade] = pending
  res.on('finish', onRefusalFinished)
  pending.routed = true
  state.routing(req, res)
}

/** The listener itself failed (a bug here or in routing): close this connection, keep the process. */
function failUpgrade (state: UpgradeState, req: IncomingMessage, socket: Duplex, err: unknown): void {
  state.log?.error({ err, url: req.url }, 'WebSocket upgrade failed: connection closed')
  socket.destroy()
}

/** Hand the socket over from the pending state to a WebSocket. */
export function claimSocket (pending: PendingUpgrade, res: ServerResponse): void {
  pending.upgraded = true
  pending.deadlines?.remove(pending)
  const socket = pending.socket
  res.detachSocket(socket as Socket)
  socket.removeListener('error', onPendingSocketError)
  socket.removeListener('close', onPendingSocketClose)
  ;(socket as Duplex & { [kUpgrade]?: PendingUpgrade })[kUpgrade] = undefined
  const net = socket as Partial<Socket>
  net.setNoDelay?.(true)
  net.setTimeout?.(0)
}

/** The timeouts of Node's HTTP server that drop a connection before it completes a request. */
interface ServerTimeouts { timeout?: number, headersTimeout?: number, requestTimeout?: number }

/**
 * Warn (once, when the app is ready) if nothing drops a connection that never sends a complete
 * request: such connections hold a file descriptor each until the peer goes, and the plugin's
 * handshakeTimeout only starts at the 'upgrade' event. See the README's "Production" section.
 */
export function checkServerTimeouts (server: object, log: UpgradeLog): void {
  const s = server as ServerTimeouts
  if (typeof s.headersTimeout !== 'number') return // not a node:http(s) server: nothing to say
  const idle = s.timeout ?? 0
  const request = s.requestTimeout ?? 0
  if (idle > 0 || s.headersTimeout > 0 || request > 0) return
  log.warn({ connectionTimeout: idle, headersTimeout: s.headersTimeout, requestTimeout: request },
    'fastify-rfc6455: the HTTP server never drops connections that send no complete request; ' +
    'set connectionTimeout / requestTimeout (Fastify) or headersTimeout (Node) so idle connections cannot exhaust file descriptors')
}
