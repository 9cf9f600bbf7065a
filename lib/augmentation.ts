// The `declare module 'fastify'` augmentation, shipped with the compiled types: route overloads
// so that the handler's type follows `websocket: true` (a `(socket, request)` handler) or a
// handler object (an optional plain-HTTP handler), plus the decorators this plugin adds.
import type {
  RawServerBase, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger,
  FastifyTypeProvider, FastifyTypeProviderDefault, RouteGenericInterface, ContextConfigDefault, FastifySchema,
  FastifyRequest, RouteHandlerMethod, HTTPMethods, RequestGenericInterface
} from 'fastify'
import type { WebSocket, WebSocketData } from './socket'
import type { PublishOptions } from './pubsub/topics'
import type { WebSocketRouteOptions } from './plugin/route'
import type { WebSocketMessageSchema } from './plugin/message-schema'
import type { InjectWSOptions, InjectWSHooks } from './plugin/inject'
import type { WebSocketServer } from './plugin/server'
import type { WebSocketStats } from './stats'

/** The Fastify request a WebSocket handler receives, typed by the route's generics and schema. */
/** What `app.websocketMemory()` reports. */
export interface WebSocketMemory {
  /** bytes held by every socket together: incoming messages not yet complete, output not yet written */
  heldBytes: number
  /** the memoryBudget option, 0 when none is set */
  maxBytes: number
  /** sockets closed (1013) because the budget was exhausted */
  evictions: number
}

export type WebSocketRequest<
  RawServer extends RawServerBase = RawServerDefault,
  RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
  RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
  ContextConfig = ContextConfigDefault,
  SchemaCompiler extends FastifySchema = FastifySchema,
  TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
  Logger extends FastifyBaseLogger = FastifyBaseLogger
> = FastifyRequest<RouteGeneric, RawServer, RawRequest, SchemaCompiler, TypeProvider, ContextConfig, Logger>

declare module 'fastify' {
  interface FastifyInstance<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    Logger extends FastifyBaseLogger = FastifyBaseLogger,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault
  > {
    /** every open WebSocket of this server */
    readonly websocketClients: Set<WebSocket>
    /** bytes held by every socket together, against the memoryBudget option (maxBytes 0: none set) */
    websocketMemory (): WebSocketMemory
    /** the always-on counters: connections, handshakes, messages and bytes, close codes, backpressure, topics, adapter */
    websocketStats (): WebSocketStats
    /** publish to every subscriber of `topic` (in every process, with a shared adapter) */
    websocketPublish (topic: string, data: WebSocketData, options?: PublishOptions): void
    /** this process's subscribers of `topic` */
    websocketSubscribers (topic: string): ReadonlySet<WebSocket>
    /** ws's server, as far as apps use it: `clients`, the 'connection' and 'headers' events, close() */
    readonly websocketServer: WebSocketServer
    /**
     * open a WebSocket to `path` (default '/') without a port (tests); rejects with an
     * InjectRefusedError (the HTTP status of a refusal)
     */
    injectWS (path?: string, options?: InjectWSOptions, hooks?: InjectWSHooks): Promise<WebSocket>

    /** `websocket: true`: `handler` receives the socket and the Fastify request. */
    route<
      RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
      ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema
    >(opts: Omit<RouteShorthandOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>, 'websocket'> & {
      method: HTTPMethods | HTTPMethods[]
      url: string
      websocket: true
      handler: (this: FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>, socket: WebSocket,
        request: WebSocketRequest<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>) => unknown
    }): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>

    /** A WebSocket route declared with a handler object; `handler` (optional) serves plain HTTP GETs. */
    route<
      RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
      ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema,
      const MessageSchema extends WebSocketMessageSchema | undefined = undefined
    >(opts: Omit<RouteShorthandOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>, 'websocket'> & {
      method: HTTPMethods | HTTPMethods[]
      url: string
      websocket: WebSocketRouteOptions<WebSocketRequest<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>, TypeProvider, MessageSchema>
      handler?: RouteHandlerMethod<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>
    }): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }

  interface RouteShorthandOptions<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
    ContextConfig = ContextConfigDefault,
    SchemaCompiler extends FastifySchema = FastifySchema,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger
  > {
    /** `true`: the handler receives `(socket, request)`; an object: WebSocket handlers and options */
    websocket?: boolean | WebSocketRouteOptions<WebSocketRequest<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>>
    /** (as @fastify/websocket) the WebSocket handler of a route whose `handler` serves plain HTTP */
    wsHandler?: (this: FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>, socket: WebSocket,
      request: WebSocketRequest<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>) => unknown
  }

  interface FastifyRequest {
    /** whether this request asks to upgrade to a WebSocket (set from onRequest on) */
    ws: boolean
  }

  interface RouteShorthandMethod<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger
  > {
    /** `websocket: true`: the handler receives the socket and the Fastify request. */
    // RequestGenericInterface by default, as @fastify/websocket types this request (no Reply key)
    <RouteGeneric extends RouteGenericInterface = RequestGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema>(
      path: string,
      opts: RouteShorthandOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger> & { websocket: true },
      handler: (this: FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>, socket: WebSocket,
        request: WebSocketRequest<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>) => unknown
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
    /** A handler object: the optional third argument serves plain HTTP GETs. */
    <RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const MessageSchema extends WebSocketMessageSchema | undefined = undefined>(
      path: string,
      opts: Omit<RouteShorthandOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>, 'websocket'> & {
        websocket: WebSocketRouteOptions<WebSocketRequest<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>, TypeProvider, MessageSchema>
      },
      handler?: RouteHandlerMethod<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }
}
