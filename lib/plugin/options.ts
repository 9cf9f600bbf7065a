// Plugin options: the plugin-only keys and their checks. The options shared with routes and the
// client (types, defaults, validation, the route-over-plugin merge) live in lib/options.ts and
// are named here too for the plugin's modules.
import { wsError } from '../errors'
import { DEFAULT_HANDSHAKE_TIMEOUT, SHARED_OPTION_KEYS, type WebSocketSharedOptions } from '../options'
import { integerIn, positive } from '../engine/option-checks'
import type { FastifyInstance, FastifyReply, FastifyRequest, preCloseAsyncHookHandler, preCloseHookHandler } from 'fastify'
import type { WsServerOptions } from './ws-options'

export {
  resolveOptions, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_BACKPRESSURE,
  type HeartbeatOptions, type AllowedOrigins, type WebSocketSharedOptions, type ResolvedOptions
} from '../options'

export interface WebSocketPluginOptions extends WebSocketSharedOptions {
  /** carries published messages between processes (default: in-process only) */
  pubsub?: import('../pubsub/adapter').PubSubAdapter
  /** ms the whole handshake (hooks included) may take before the socket gets 503 (default 10000) */
  handshakeTimeout?: number
  /**
   * bytes all sockets together may hold (incoming messages not yet complete, output not yet
   * written); past it new upgrades get 503 and the largest holder is closed with 1013
   * (default: no budget)
   */
  memoryBudget?: number
  /**
   * read plain TCP sockets into one buffer shared by every connection (default true): fewer
   * allocations and copies per read; `false` keeps Node's ordinary 'data' events (as does
   * FASTIFY_RFC6455_SHARED_READS=0 in the environment)
   */
  sharedReads?: boolean
  /**
   * WebSockets (open or in their handshake) one HTTP/2 connection may carry at once (default
   * 100); past it an extended CONNECT gets 429 (WS_ERR_HTTP2_SOCKETS). Over HTTP/1.1 each
   * WebSocket is a connection of its own, bounded by the process's file limit; over HTTP/2 one
   * connection could otherwise open them without end.
   */
  maxHttp2WebSockets?: number
  /**
   * called, with `this` the Fastify instance, with errors thrown by WebSocket handlers and with
   * the socket's own errors (protocol errors, timeouts); default: log, and close 1011 after a
   * handler error (a protocol error has already failed the connection)
   */
  errorHandler?: WebSocketErrorHandler
  /**
   * replaces the default shutdown step (close every socket with 1001, wait up to closeTimeout):
   * it must close the sockets itself (`this.websocketServer.clients`). New upgrades get 503 either way
   */
  preClose?: preCloseHookHandler | preCloseAsyncHookHandler
  /** @fastify/websocket's ws.Server options: mapped onto these options, or refused (see the README) */
  options?: WsServerOptions
}

export type WebSocketErrorHandler = (this: FastifyInstance, error: Error, socket: import('../socket').WebSocket,
  request: FastifyRequest, reply: FastifyReply) => void

/**
 * Every key the plugin options may have; anything else is refused, so that a misspelt or
 * unsupported option is never silently ignored. `prefix`, `logLevel` and `logSerializers` are
 * Fastify's own register options. Typed against WebSocketPluginOptions: an option added there
 * and not here fails to compile.
 */
const PLUGIN_KEYS: Record<keyof WebSocketPluginOptions | 'prefix' | 'logLevel' | 'logSerializers', true> = {
  ...SHARED_OPTION_KEYS,
  pubsub: true,
  handshakeTimeout: true,
  memoryBudget: true,
  sharedReads: true,
  maxHttp2WebSockets: true,
  errorHandler: true,
  preClose: true,
  options: true,
  prefix: true,
  logLevel: true,
  logSerializers: true
}

/** Keys that were options of @fastify/websocket or of older versions, and what to use instead. */
const PLUGIN_HINTS: Record<string, string> = {
  handle: "declare a wildcard route instead: app.get('/*', { websocket: true }, handle)",
  connectionOptions: 'wrap the socket with createWebSocketStream(socket, options) instead',
  verifyClient: 'pass it as options.verifyClient, or check the request in an onRequest or preValidation hook',
  handleProtocols: 'pass it as options.handleProtocols, or give routes `websocket: { protocols: [...] }`',
  clientTracking: 'app.websocketServer.clients always tracks the open sockets'
}

/** Refuse keys of the plugin options this plugin does not know (WS_ERR_INVALID_OPTION). */
export function checkPluginKeys (opts: object): void {
  for (const key of Object.keys(opts)) {
    if (Object.hasOwn(PLUGIN_KEYS, key)) continue
    throw wsError('WS_ERR_INVALID_OPTION', `unknown plugin option "${key}": ${PLUGIN_HINTS[key] ?? 'see the README for the options'}`)
  }
}

/** The memoryBudget option: bytes (0 or undefined: no budget). */
export function resolveMemoryBudget (value: unknown): number {
  return positive('memoryBudget', value, 0)
}

/** The maxHttp2WebSockets option: a count, default 100. */
export function resolveMaxHttp2WebSockets (value: unknown): number {
  return integerIn('maxHttp2WebSockets', value, 1, 2 ** 31 - 1, DEFAULT_MAX_HTTP2_WEBSOCKETS)
}

export const DEFAULT_MAX_HTTP2_WEBSOCKETS = 100

export function resolveHandshakeTimeout (value: unknown): number {
  return positive('handshakeTimeout', value, DEFAULT_HANDSHAKE_TIMEOUT)
}
