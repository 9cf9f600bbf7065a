// WebSocket routes: `onRoute` marks them and swaps in one shared handler that, for an upgrade
// request that got through every hook, validates the handshake (RFC 6455 section 4.2.1),
// checks the origin, selects the subprotocol, writes the 101 and hands the socket to a
// WebSocket; for a plain GET it runs the route's own `handler` or answers 426.
import type { MemoryBudget } from '../budget'
import type {
  FastifyInstance, FastifyReply, FastifyRequest, FastifyTypeProvider, FastifyTypeProviderDefault, RequestGenericInterface, RouteOptions
} from 'fastify'
import { wsError, WebSocketError } from '../errors'
import { validateUpgradeRequest, isUpgradeRequest } from '../handshake/request'
import { hasToken } from '../handshake/tokens'
import { computeAccept } from '../handshake/accept'
import { compileOriginPolicy, type OriginChecker } from '../handshake/origin'
import { selectSubprotocol } from '../handshake/subprotocol'
import { buildSwitchingProtocols } from '../handshake/response'
import { parseExtensionHeader, negotiatePerMessageDeflateServer } from '../handshake/extensions'
import { PerMessageDeflate } from '../engine/deflate'
import { isPromiseLike } from '../engine/promise-like'
import { WebSocket, type SocketContext } from '../socket'
import type { ConnectionOptions } from '../engine/connection-options'
import { sessionOf } from '../session'
import { resolveOptions, type ResolvedOptions, type WebSocketSharedOptions, type WebSocketErrorHandler } from './options'
import { compatOptionError, type VerifyClient, type WsServerOptions } from './ws-options'
import type { WebSocketServer } from './server'
import { checkRouteKeys, verifyClientAllows, refuseVerified, beginSocket, remember } from './compat'
import { buildSocketContext } from './route-context'
import { kUpgrade, claimSocket, type UpgradeRequest } from './upgrade'
import { validateExtendedConnect, buildHttp2Accept } from '../handshake/http2'
import { acceptHttp2Stream, emitHttp2Headers } from './http2'
import type { Topics } from '../pubsub/topics'
import {
  attachMessageSchema, type RouteCodec, type WebSocketMessageSchema, type MessageArgs, type MessageOf, type SocketOf
} from './message-schema'
import type { PluginCounters } from '../stats'
import { openChannel, type OpenMessage } from '../diagnostics'

export const kRoute = Symbol('fastify-rfc6455.route')

/** A route's handlers; `Socket` and `In` follow its message schemas (WebSocket and Buffer without). */
export interface WebSocketRouteHandlers<Req = FastifyRequest, Socket extends WebSocket = WebSocket, In = Buffer> {
  /** the socket is open; messages arriving meanwhile are held until a returned promise settles */
  open? (socket: Socket, request: Req): unknown
  /** a message: a Buffer (text as UTF-8), or on a route with `schema` the validated value of a text message */
  message? (socket: Socket, ...args: MessageArgs<In>): unknown
  close? (socket: Socket, code: number, reason: Buffer): unknown
  drain? (socket: Socket): unknown
  ping? (socket: Socket, data: Buffer): unknown
  pong? (socket: Socket, data: Buffer): unknown
  /** an error thrown by a handler, or a protocol error of this socket */
  error? (socket: Socket, error: unknown): unknown
}

export interface WebSocketRouteOptions<Req = FastifyRequest, TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
  Schema extends WebSocketMessageSchema | undefined = undefined>
  extends WebSocketRouteHandlers<Req, SocketOf<TypeProvider, Schema>, MessageOf<TypeProvider, Schema>>, WebSocketSharedOptions {
  /** JSON Schemas (or the type provider's) of the messages: `message` validates what arrives, `send` serializes what `send(value)` sends */
  schema?: Schema
  /** validate values given to `send()` against `schema.send` too (for development; default false) */
  validateSend?: boolean
  /** a text message that is not JSON or fails `schema.message`: replaces the close (1007, 1008) */
  invalidMessage? (socket: SocketOf<TypeProvider, Schema>, error: WebSocketError, raw: Buffer): unknown
  /** on a route with `schema`: binary messages, untouched (without it and without 'message' listeners they close 1003) */
  binary? (socket: SocketOf<TypeProvider, Schema>, data: Buffer): unknown
  /** subprotocols this route speaks, most preferred first */
  protocols?: string[]
  /** choose the subprotocol yourself: return one of `offered`, or false for none */
  selectProtocol? (offered: string[], request: Req): string | false | undefined
  /**
   * refuse (400) a client whose offered subprotocols include none of `protocols` (default true);
   * false proceeds without a subprotocol. A client that offers none is always accepted.
   */
  requireProtocol?: boolean
}

export type WebSocketHandler<Req = FastifyRequest<RequestGenericInterface>> = (this: FastifyInstance, socket: WebSocket, request: Req) => unknown

/** What the plugin shares with its routes. */
export interface PluginShared {
  options: ResolvedOptions
  topics: Topics
  clients: Set<WebSocket>
  closing: boolean
  errorHandler: WebSocketErrorHandler | undefined
  /** options.verifyClient (ws), run before the 101 */
  verifyClient: VerifyClient | undefined
  /** options.handleProtocols (ws), for routes that do not choose their subprotocol themselves */
  handleProtocols: WsServerOptions['handleProtocols']
  /** app.websocketServer: 'connection' and 'headers' events */
  server: WebSocketServer
  /** the process-wide memory budget (the memoryBudget option), or null */
  budget: MemoryBudget | null
  /** the sharedReads option */
  sharedReads: boolean
  /** the plugin's allowedOrigins, compiled (and so checked) once at registration; null for any */
  originAllowed: OriginChecker | null
  /** the counters of app.websocketStats() */
  counters: PluginCounters
}

interface RouteState {
  handler: WebSocketHandler<any> | null
  /** the route's `websocket` object: its handlers and its subprotocol choice ({} for `websocket: true` and wsHandler routes) */
  websocket: WebSocketRouteOptions<any>
  plain: RouteOptions['handler'] | null
  options: ResolvedOptions
  originAllowed: ((origin: string | undefined, req: unknown) => boolean | Promise<boolean>) | null
  ctx: SocketContext
  /** the engine options of every socket of the route, made once (a copy adds the deflate codec) */
  connection: ConnectionOptions
  shared: PluginShared
  /** the route's message schemas (websocket.schema), or null */
  codec: RouteCodec | null
}

type MarkedConfig = { [kRoute]?: RouteState }

export function routeStateOf (request: FastifyRequest): RouteState | undefined {
  return (request.routeOptions.config as MarkedConfig | undefined)?.[kRoute]
}

/** The `onRoute` hook: turn `websocket: true | {...}` routes into WebSocket routes. */
export function createOnRoute (shared: PluginShared): (this: FastifyInstance, route: RouteOptions & { websocket?: unknown, wsHandler?: unknown }) => void {
  return function onRoute (this: FastifyInstance, route): void {
    const spec = route.websocket
    // @fastify/websocket's wsHandler: a (socket, request) handler beside the route's HTTP handler
    const wsHandler = route.wsHandler
    if ((spec === undefined || spec === false) && wsHandler === undefined) return
    if (wsHandler !== undefined) {
      if (typeof wsHandler !== 'function') throw compatOptionError('invalid wsHandler function')
      if (spec !== undefined && spec !== false) {
        throw wsError('WS_ERR_INVALID_OPTION', `route ${route.url} has both websocket and wsHandler: give one of them`)
      }
    } else if (spec !== true && (typeof spec !== 'object' || spec === null)) {
      throw wsError('WS_ERR_INVALID_OPTION', `websocket on ${route.url} must be true or an object of handlers and options`)
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.every(m => m === 'HEAD')) {
      // a HEAD request cannot upgrade (Fastify's automatic HEAD twin of a GET route, too): a
      // route that only upgrades has nothing to show it (404, as @fastify/websocket answers)
      if (spec === true || route.handler === upgradeOnly) route.handler = headNotFound
      return
    }
    if (methods.some(m => m !== 'GET' && m !== 'HEAD')) {
      // RFC 6455 section 4.1: the opening handshake is a GET request
      throw compatOptionError('websocket handler can only be declared in GET method')
    }
    if (spec !== undefined && spec !== true && spec !== false) checkRouteKeys(spec as object, route.url)
    const websocket: WebSocketRouteOptions<any> = spec === true || wsHandler !== undefined ? {} : spec as WebSocketRouteOptions<any>
    const options = resolveOptions(websocket, shared.options)
    const plain = spec === true || route.handler === upgradeOnly ? null : route.handler
    // as @fastify/websocket does: a route that only upgrades is left out of generated API docs
    if (plain === null) route.schema = { ...route.schema, hide: true } as RouteOptions['schema']
    const state: RouteState = {
      handler: wsHandler !== undefined ? wsHandler as WebSocketHandler<any> : spec === true ? route.handler as unknown as WebSocketHandler<any> : null,
      websocket,
      plain,
      options,
      originAllowed: options.allowedOrigins === shared.options.allowedOrigins
        ? shared.originAllowed
        : options.allowedOrigins === undefined ? null : compileOriginPolicy(options.allowedOrigins),
      ctx: buildSocketContext(websocket, options, shared, route.url),
      connection: {
        role: 'server',
        maxPayload: options.maxPayload,
        autoPong: options.autoPong,
        closeTimeout: options.closeTimeout,
        heartbeatInterval: options.heartbeatInterval,
        pongTimeout: options.pongTimeout,
        maxFragments: options.maxFragments,
        maxPendingAutoPongs: options.maxPendingAutoPongs,
        dropExcessPongs: options.backpressurePolicy === 'drop',
        deflate: null
      },
      shared,
      codec: null
    }
    state.codec = attachMessageSchema(this, websocket, route, state.ctx)
    route.config = { ...(route.config as object), [kRoute]: state }
    route.handler = websocketRouteHandler(state)
  }
}

/** Placeholder handler for `websocket: {...}` routes declared without a plain-HTTP handler. */
export function upgradeOnly (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): void {
  upgradeRequired.call(this, request, reply)
}

function headNotFound (this: FastifyInstance, _request: FastifyRequest, reply: FastifyReply): void {
  reply.code(404).send()
}

function upgradeRequired (this: FastifyInstance, _request: FastifyRequest, reply: FastifyReply): void {
  // RFC 7231 section 6.5.15: 426 names the protocol to upgrade to
  reply.code(426).header('Upgrade', 'websocket').header('Connection', 'Upgrade').send(wsError('WS_ERR_UPGRADE_REQUIRED'))
}

/** The route's handler, made once per route: it has its state without asking Fastify for it per request. */
function websocketRouteHandler (state: RouteState) {
  return function websocketRoute (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): unknown {
    return handleRequest(this, state, request, reply)
  }
}

function handleRequest (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply): unknown {
  const pending = (request.raw as UpgradeRequest)[kUpgrade]
  if (pending === undefined) {
    // RFC 6455 section 4.2.1 item 4: `Upgrade: websocket` without `Connection: Upgrade` (which
    // Node does not treat as an upgrade) is a broken handshake, not a plain GET: 400
    if (isUpgradeRequest(request.headers) && !hasToken(request.headers.connection, 'upgrade')) {
      throw wsError('WS_ERR_HANDSHAKE_CONNECTION', request.headers.connection === undefined ? 'header missing' : 'no upgrade token')
    }
    if (state.plain !== null) return state.plain.call(fastify, request, reply)
    if (request.method === 'HEAD') headNotFound.call(fastify, request, reply)
    else upgradeRequired.call(fastify, request, reply)
    return undefined
  }
  return acceptUpgrade(fastify, state, request, reply)
}

function acceptUpgrade (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
  const pending = (request.raw as UpgradeRequest)[kUpgrade]!
  if (pending.timedOut || pending.socket.destroyed) {
    reply.hijack()
    return undefined
  }
  if (state.shared.closing) throw wsError('WS_ERR_SHUTTING_DOWN')
  // past the memory budget a new connection would only push out an existing one: 503
  if (state.shared.budget?.exhausted === true) throw wsError('WS_ERR_MEMORY_BUDGET', `${state.shared.budget.held} bytes held`)
  const raw = request.raw
  // RFC 6455 section 4.2.1: the opening handshake is an HTTP/1.1 (or later) GET
  if (raw.httpVersionMajor < 1 || (raw.httpVersionMajor === 1 && raw.httpVersionMinor < 1)) {
    throw wsError('WS_ERR_HANDSHAKE_METHOD', `HTTP/${raw.httpVersion} cannot upgrade`)
  }
  let info
  try {
    info = pending.http2 === true ? validateExtendedConnect(raw.headers) : validateUpgradeRequest(raw.method, raw.headers)
  } catch (err) {
    // RFC 6455 section 4.4: tell the client which version we speak
    if (err instanceof WebSocketError && err.code === 'WS_ERR_HANDSHAKE_VERSION') reply.header('Sec-WebSocket-Version', '13')
    throw err
  }
  if (state.originAllowed !== null) {
    const allowed = state.originAllowed(info.origin, request)
    if (typeof allowed === 'object') {
      return allowed.then(ok => {
        if (!ok) throw wsError('WS_ERR_HANDSHAKE_ORIGIN', info.origin)
        return verifyThenComplete(fastify, state, request, reply, info.key, info.protocols)
      })
    }
    if (!allowed) throw wsError('WS_ERR_HANDSHAKE_ORIGIN', info.origin)
  }
  return verifyThenComplete(fastify, state, request, reply, info.key, info.protocols)
}

/** ws's verifyClient (if given), after Fastify's hooks and the origin check, then the 101. */
function verifyThenComplete (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply,
  key: string, offered: string[]): Promise<void> | undefined {
  const verify = state.shared.verifyClient
  if (verify === undefined) {
    completeUpgrade(fastify, state, request, reply, key, offered)
    return undefined
  }
  const verdict = verifyClientAllows(verify, request)
  if (verdict instanceof Promise) {
    return verdict.then(refusal => {
      if (refusal !== null) throw refuseVerified(reply, refusal)
      completeUpgrade(fastify, state, request, reply, key, offered)
    })
  }
  if (verdict !== null) throw refuseVerified(reply, verdict)
  completeUpgrade(fastify, state, request, reply, key, offered)
  return undefined
}

function completeUpgrade (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply,
  key: string, offered: string[]): void {
  const pending = (request.raw as UpgradeRequest)[kUpgrade]!
  if (pending.timedOut || pending.socket.destroyed) {
    reply.hijack()
    return
  }
  state.codec?.compileLate(request, reply)
  const websocket = state.websocket
  let protocol = ''
  const handleProtocols = state.shared.handleProtocols
  if (websocket.protocols !== undefined || websocket.selectProtocol !== undefined) {
    const chosen = selectSubprotocol(offered, websocket.selectProtocol ?? websocket.protocols ?? [], request)
    if (chosen === false) {
      // the count, not the names: apps that carry a token as a subprotocol would see it logged
      if (offered.length > 0 && websocket.requireProtocol !== false) throw wsError('WS_ERR_HANDSHAKE_PROTOCOL', `none of the ${offered.length} offered is served here`)
    } else {
      protocol = chosen
    }
  } else if (handleProtocols !== undefined) {
    // ws's handleProtocols: a Set of the offered names and the raw request; false: none
    const chosen = selectSubprotocol(offered, (names: string[]) => handleProtocols(new Set(names), request.raw), request)
    if (chosen !== false) protocol = chosen
  }
  // headers set by hooks (a Set-Cookie, say) go out with the 101, but for those that describe
  // the 101 itself, which buildSwitchingProtocols drops
  let extra: Array<[string, string | string[]]> | undefined
  const replyHeaders = reply.getHeaders()
  for (const name in replyHeaders) {
    const value = replyHeaders[name]
    if (value === undefined) continue
    ;(extra ??= []).push([name, Array.isArray(value) ? value.map(String) : String(value)])
  }
  // RFC 7692 section 5: accept the first acceptable permessage-deflate offer, if enabled
  const options = state.options
  let deflate: PerMessageDeflate | null = null
  let extensions = ''
  const extensionOffers = request.raw.headers['sec-websocket-extensions']
  if (options.perMessageDeflate !== false && extensionOffers !== undefined) {
    const agreed = negotiatePerMessageDeflateServer(parseExtensionHeader(extensionOffers), options.perMessageDeflate)
    if (agreed !== null) {
      deflate = new PerMessageDeflate(agreed.params, 'server', options.perMessageDeflate, options.maxPayload)
      extensions = agreed.header
    }
  }
  const server = state.shared.server
  const socket = pending.socket
  if (pending.http2 === true) {
    // RFC 8441 section 5: a 200, no Sec-WebSocket-Accept (unless the client sent a key anyway)
    let headers = buildHttp2Accept(protocol || undefined, extensions || undefined, extra, key === '' ? undefined : computeAccept(key))
    if (server.listenerCount('headers') > 0) headers = emitHttp2Headers(server, headers, request.raw)
    reply.hijack()
    acceptHttp2Stream(pending, headers)
  } else {
    let response = buildSwitchingProtocols(computeAccept(key), protocol || undefined, extensions || undefined, extra)
    if (server.listenerCount('headers') > 0) {
      // ws's 'headers' event: listeners may add lines to the 101 before it is written
      const lines = response.toString('latin1').split('\r\n').slice(0, -2)
      server.emit('headers', lines, request.raw)
      response = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
    }
    reply.hijack()
    claimSocket(pending, reply.raw)
    socket.write(response)
  }
  // the plugin's errorHandler is called with where the socket came from; without one, nothing is kept
  const context = state.shared.errorHandler === undefined ? null : { fastify, request, reply }
  if (context !== null) beginSocket(context)
  const ws = new WebSocket(socket, deflate === null ? state.connection : { ...state.connection, deflate },
    state.ctx, protocol, extensions, request.log, { head: pending.head, hold: true, sharedReads: state.shared.sharedReads && pending.http2 !== true, url: request.url })
  if (context !== null) remember(ws, context)
  const stats = state.ctx.stats
  if (stats != null) stats.accepted++
  if (openChannel.hasSubscribers) {
    openChannel.publish({
      socket: ws, request: request.raw, route: state.ctx.route ?? request.url, protocol, extensions, handshakeStart: pending.startedAt
    } satisfies OpenMessage)
  }
  server.emit('connection', ws, request.raw)
  // Messages arriving before the handler (or an async open) has settled are held, then delivered
  // in order; the bytes that came with the request (pending.head) were parsed before any read.
  // (ws.log makes the socket's child logger: only when the line is written; the route, not
  // request.url: a query string may carry a token)
  if (debugEnabled(request.log)) ws.log.debug({ route: request.routeOptions.url, protocol }, 'websocket open')
  let result: unknown
  try {
    result = state.handler !== null ? state.handler.call(fastify, ws, request) : websocket.open?.(ws, request)
  } catch (err) {
    state.ctx.onHandlerError(ws, err)
    sessionOf(ws).release()
    return
  }
  if (isPromiseLike(result)) {
    result.then(() => sessionOf(ws).release(), (err: unknown) => {
      state.ctx.onHandlerError(ws, err)
      sessionOf(ws).release()
    })
  } else {
    sessionOf(ws).release()
  }
}

/**
 * Whether `log` writes debug lines: pino (Fastify's logger) says so; a logger that cannot say is
 * assumed to. Checked before building a line that would make the socket's child logger.
 */
function debugEnabled (log: object): boolean {
  const { isLevelEnabled } = log as { isLevelEnabled?: unknown }
  return typeof isLevelEnabled !== 'function' || (isLevelEnabled as (level: string) => boolean).call(log, 'debug')
}
