// WebSocket routes: `onRoute` marks them and gives each a handler, made once, that hands an
// upgrade request that got through every hook to accept.ts (the handshake, the 101, the
// WebSocket); for a plain GET it runs the route's own `handler` or answers 426.
import type { MemoryBudget } from '../budget'
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyTypeProvider, FastifyTypeProviderDefault, RequestGenericInterface, RouteOptions } from 'fastify'
import { wsError, WebSocketError } from '../errors'
import { isUpgradeRequest } from '../handshake/request'
import { hasToken } from '../handshake/tokens'
import { compileOriginPolicy, type OriginChecker } from '../handshake/origin'
import { WebSocket, type SocketContext } from '../socket'
import type { ConnectionOptions } from '../engine/connection-options'
import { resolveOptions, type ResolvedOptions, type WebSocketSharedOptions, type WebSocketErrorHandler } from './options'
import { compatOptionError, type VerifyClient, type WsServerOptions } from './ws-options'
import type { WebSocketServer } from './server'
import { checkRouteKeys } from './compat'
import { buildSocketContext } from './route-context'
import { kUpgrade, type UpgradeRequest } from './upgrade'
import type { Topics } from '../pubsub/topics'
import { attachMessageSchema, type RouteCodec, type WebSocketMessageSchema, type MessageArgs, type MessageOf, type SocketOf } from './message-schema'
import type { PluginCounters } from '../stats'
import { acceptUpgrade } from './accept'

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

export interface RouteState {
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
