// @fastify/websocket's `options` (the ws.Server options it passes through): each one that means
// something here is mapped onto our own option; the others are refused at registration, naming
// what to use instead, so that no option a migrating app sets is silently ignored.
import type { IncomingMessage, OutgoingHttpHeaders, Server as HttpServer } from 'node:http'
import { wsError, type WebSocketError } from '../errors'
import type { DeflateOptions } from '../handshake/extensions'
import { invalidOption } from '../engine/option-checks'
import type { WebSocketSharedOptions } from './options'

/** What `verifyClient` receives (as in ws). */
export interface VerifyClientInfo {
  /** the Origin header ('' when absent, as ws gives undefined) */
  origin: string | undefined
  /** whether the connection is TLS */
  secure: boolean
  req: IncomingMessage
}

/** ws's verifyClient: return (or call back with) false to refuse the upgrade (401 unless `code` is given). */
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean | Promise<boolean>)
  | ((info: VerifyClientInfo, callback: (result: boolean, code?: number, message?: string, headers?: OutgoingHttpHeaders) => void) => void)

/** ws's permessage-deflate options, as @fastify/websocket users write them. */
export interface WsPerMessageDeflateOptions {
  serverNoContextTakeover?: boolean
  clientNoContextTakeover?: boolean
  serverMaxWindowBits?: number
  /** `true` (ws: offer the parameter without a value) means the default here */
  clientMaxWindowBits?: number | boolean
  zlibDeflateOptions?: { level?: number, memLevel?: number }
  threshold?: number
  concurrencyLimit?: number
}

/**
 * The ws.Server options @fastify/websocket accepted under `options`, as far as they mean
 * something here. Any other key is refused at registration.
 */
export interface WsServerOptions {
  /** as the plugin's maxPayload */
  maxPayload?: number
  /** as the plugin's perMessageDeflate (ws's option names) */
  perMessageDeflate?: boolean | WsPerMessageDeflateOptions
  /** as the plugin's maxFragments */
  maxFragments?: number
  /** as the plugin's autoPong */
  autoPong?: boolean
  /** accepted: `app.websocketServer.clients` always tracks open sockets (shutdown needs them) */
  clientTracking?: boolean
  /** accepted when true: events are always emitted synchronously */
  allowSynchronousEvents?: boolean
  /** accepted when false: UTF-8 is always validated (RFC 6455 section 8.1) */
  skipUTF8Validation?: boolean
  /** called before the 101, after Fastify's hooks; false refuses the upgrade */
  verifyClient?: VerifyClient
  /** picks the subprotocol (routes with `protocols` or `selectProtocol` decide for themselves) */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false
  /** another HTTP server whose upgrade requests are routed through this Fastify instance */
  server?: HttpServer
  /** ignored with a warning, as @fastify/websocket does: routes decide paths */
  path?: string
}

/** What the `options` object turns into. */
export interface MappedWsOptions {
  shared: WebSocketSharedOptions
  verifyClient: VerifyClient | undefined
  handleProtocols: WsServerOptions['handleProtocols']
  server: HttpServer | undefined
  /** warnings to log at registration */
  warnings: string[]
}

/** Options of ws.Server with no counterpart here, and what to use instead. */
const REFUSED: Record<string, string> = {
  noServer: 'noServer is not supported: upgrades are routed through Fastify; for a server detached from Fastify use ws itself',
  host: 'host is not supported: the WebSocket routes listen where Fastify listens (app.listen({ host }))',
  port: 'port is not supported: the WebSocket routes listen where Fastify listens (app.listen({ port }))',
  backlog: 'backlog is not supported: pass it to app.listen({ backlog })',
  maxBufferedChunks: 'maxBufferedChunks is not supported: incoming messages are held as bytes, bounded by maxPayload and memoryBudget',
  WebSocket: 'a custom WebSocket class is not supported: add behaviour in the route handler'
}

/** Turn @fastify/websocket's `options` into our options; throws WS_ERR_INVALID_OPTION for what has no counterpart. */
export function mapWsServerOptions (options: unknown): MappedWsOptions {
  const mapped: MappedWsOptions = { shared: {}, verifyClient: undefined, handleProtocols: undefined, server: undefined, warnings: [] }
  if (options === undefined) return mapped
  if (typeof options !== 'object' || options === null) throw invalidOption('options must be an object of ws.Server options')
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    const value = o[key]
    if (value === undefined) continue
    switch (key) {
      case 'maxPayload': case 'maxFragments': case 'autoPong':
        mapped.shared[key] = value as never
        break
      case 'perMessageDeflate':
        mapped.shared.perMessageDeflate = mapDeflate(value)
        break
      case 'clientTracking':
        break
      case 'allowSynchronousEvents':
        if (value !== true) throw invalidOption('options.allowSynchronousEvents: false is not supported: events are emitted synchronously; defer work in the listener (setImmediate)')
        break
      case 'skipUTF8Validation':
        if (value !== false) throw invalidOption('options.skipUTF8Validation is not supported: text messages are always validated (RFC 6455 section 8.1); send binary messages to skip it')
        break
      case 'verifyClient':
        if (typeof value !== 'function') throw invalidOption('options.verifyClient must be a function')
        mapped.verifyClient = value as VerifyClient
        break
      case 'handleProtocols':
        if (typeof value !== 'function') throw invalidOption('options.handleProtocols must be a function')
        mapped.handleProtocols = value as WsServerOptions['handleProtocols']
        break
      case 'server':
        if (typeof value !== 'object' || value === null || typeof (value as HttpServer).on !== 'function') {
          throw invalidOption('options.server must be a node:http or node:https server')
        }
        mapped.server = value as HttpServer
        break
      case 'path':
        mapped.warnings.push('ws server path option shouldn\'t be provided, use a route instead')
        break
      default:
        throw invalidOption(key in REFUSED ? REFUSED[key] : `options.${key} is not a ws.Server option this plugin supports; see the README's "Migrating from @fastify/websocket"`)
    }
  }
  return mapped
}

function mapDeflate (value: unknown): boolean | DeflateOptions {
  // ws's form keeps ws's meaning: both sides keep their context unless told otherwise (this
  // plugin's own `perMessageDeflate` defaults to shared compressors instead)
  if (value === true) return { serverNoContextTakeover: false, clientNoContextTakeover: false }
  if (typeof value === 'boolean') return value
  if (typeof value !== 'object' || value === null) throw invalidOption('options.perMessageDeflate must be a boolean or an object')
  const out: DeflateOptions = { serverNoContextTakeover: false, clientNoContextTakeover: false }
  const o = value as Record<string, unknown>
  for (const key of Object.keys(o)) {
    const v = o[key]
    if (v === undefined) continue
    switch (key) {
      case 'serverNoContextTakeover': case 'clientNoContextTakeover': case 'serverMaxWindowBits': case 'threshold': case 'concurrencyLimit':
        out[key] = v as never
        break
      case 'clientMaxWindowBits':
        // ws's `true` offers the parameter without a value: the client's default window
        if (v !== true) out.clientMaxWindowBits = v as number
        break
      case 'zlibDeflateOptions':
        for (const [name, setting] of Object.entries(v as Record<string, unknown>)) {
          if (name === 'level' || name === 'memLevel') out[name] = setting as number
          else throw invalidOption(`options.perMessageDeflate.zlibDeflateOptions.${name} is not supported: only level and memLevel are`)
        }
        break
      case 'zlibInflateOptions':
        throw invalidOption('options.perMessageDeflate.zlibInflateOptions is not supported: bound inflated messages with perMessageDeflate.maxInflatedSize')
      default:
        throw invalidOption(`options.perMessageDeflate.${key} is not a permessage-deflate option`)
    }
  }
  return out
}

/**
 * An error whose message is exactly `message` (the wording @fastify/websocket used, which tests
 * written for it compare), with our code WS_ERR_INVALID_OPTION.
 */
export function compatOptionError (message: string): WebSocketError {
  const err = wsError('WS_ERR_INVALID_OPTION')
  err.message = message
  err.stack = `${err.name}: ${message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`
  return err
}
