// fastify-rfc6455: WebSocket routes for Fastify on an RFC 6455 engine of its own.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import {
  resolveOptions, resolveHandshakeTimeout, resolveMemoryBudget, resolveMaxHttp2WebSockets, checkPluginKeys, type WebSocketPluginOptions,
  type WebSocketSharedOptions
} from './plugin/options'
import { createOnRoute, type PluginShared } from './plugin/route'
import { allowRoutesWithoutHandler, refuseUpgradeToPlainRoute, noteUpgradeError } from './plugin/route-hooks'
import { createUpgradeListener, markUpgrade, checkServerTimeouts, type UpgradeState } from './plugin/upgrade'
import { injectWS, type InjectWSContext, type InjectWSHooks } from './plugin/inject'
import { mapWsServerOptions, compatOptionError, type MappedWsOptions } from './plugin/ws-options'
import { WebSocketServer } from './plugin/server'
import { Http2Upgrades, isHttp2Server } from './plugin/http2'
import { kRoute } from './plugin/route'
import { wsError } from './errors'
import { compileOriginPolicy } from './handshake/origin'
import { MemoryBudget } from './budget'
import type { WebSocketMemory } from './augmentation'
import { PluginCounters, collectStats, type CountedSocket, type RouteCounters, type WebSocketStats } from './stats'
import { WebSocket } from './socket'
import { sessionOf } from './session'
import { OPEN } from './engine/constants'
import { Topics, type PublishOptions } from './pubsub/topics'
import { memoryAdapter } from './pubsub/memory'
import { toBuffer, type WebSocketData } from './socket'
import './augmentation'

const kInstalled = Symbol('fastify-rfc6455.installed')

async function fastifyRfc6455 (fastify: FastifyInstance, opts: WebSocketPluginOptions): Promise<void> {
  const server = fastify.server as typeof fastify.server & { [kInstalled]?: boolean }
  if (server[kInstalled] === true) throw wsError('WS_ERR_INVALID_OPTION', 'fastify-rfc6455 is already registered on this server')
  const compat = prepareOptions(opts)
  for (const warning of compat.mapped.warnings) fastify.log.warn(warning)
  server[kInstalled] = true
  const options = resolveOptions(compat.options)
  // checked here, at registration, before anything is started that would need stopping
  const originAllowed = options.allowedOrigins === undefined ? null : compileOriginPolicy(options.allowedOrigins)
  const topics = new Topics(opts.pubsub ?? memoryAdapter(), (err, msg) => fastify.log.error({ err }, msg))
  await topics.start({ maxPayload: options.maxPayload })
  const clients = new Set<WebSocket>()
  const budget = opts.memoryBudget === undefined || opts.memoryBudget === 0 ? null : new MemoryBudget(resolveMemoryBudget(opts.memoryBudget), clients)
  const stopAccepting = (): void => {
    shared.closing = true
    upgradeState.closing = true
  }
  const wsServer = new WebSocketServer(clients, stopAccepting)
  const counters = new PluginCounters()
  const shared: PluginShared = {
    options,
    topics,
    clients,
    closing: false,
    errorHandler: opts.errorHandler ?? undefined,
    budget,
    sharedReads: opts.sharedReads !== false,
    originAllowed,
    verifyClient: compat.mapped.verifyClient,
    handleProtocols: compat.mapped.handleProtocols,
    server: wsServer,
    counters
  }
  const upgradeState: UpgradeState = {
    handshakeTimeout: resolveHandshakeTimeout(opts.handshakeTimeout),
    closing: false,
    routing: fastify.routing,
    log: fastify.log,
    counters
  }
  const onUpgrade = createUpgradeListener(upgradeState)
  // an http2 server (`http2: true`): WebSockets over HTTP/2 streams too (RFC 8441)
  const maxHttp2WebSockets = resolveMaxHttp2WebSockets(opts.maxHttp2WebSockets)
  const http2 = isHttp2Server(server) ? new Http2Upgrades(server, upgradeState, maxHttp2WebSockets) : null

  fastify.addHook('onRoute', createOnRoute(shared))
  if (http2 !== null) {
    // the setting is advertised once there is a WebSocket route (createOnRoute marked it)
    fastify.addHook('onRoute', route => {
      if ((route.config as { [kRoute]?: unknown } | undefined)?.[kRoute] !== undefined) http2.enable()
    })
  }
  allowRoutesWithoutHandler(fastify)
  fastify.addHook('onRequest', refuseUpgradeToPlainRoute)
  fastify.addHook('onError', noteUpgradeError)

  fastify.decorate('websocketClients', shared.clients)
  fastify.decorate('websocketServer', wsServer)
  fastify.decorateRequest('ws', false)
  fastify.decorate('websocketMemory', function (): WebSocketMemory {
    return { heldBytes: budget?.held ?? heldBytes(clients), maxBytes: budget?.max ?? 0, evictions: budget?.evictions ?? 0 }
  })
  fastify.decorate('websocketStats', function (): WebSocketStats {
    return collectStats(counters, openSockets(clients), topics.subscriberCounts(), topics.adapterState())
  })
  fastify.decorate('websocketPublish', function (topic: string, data: WebSocketData, options?: PublishOptions) {
    topics.publish(topic, toBuffer(data), options?.binary ?? typeof data !== 'string', null)
  })
  fastify.decorate('websocketSubscribers', function (topic: string) {
    return topics.subscribers(topic)
  })
  fastify.decorate('injectWS', function (path?: string, context?: InjectWSContext, hooks?: InjectWSHooks) {
    return injectWS(onUpgrade, path, context, hooks)
  })

  // the mark runs first in every 'upgrade' emit, so onUpgrade sees what listeners before it wrote;
  // options.server (as in @fastify/websocket): another HTTP server's upgrades are routed here too
  const upgradeServers = compat.mapped.server === undefined ? [server] : [server, compat.mapped.server]
  server.prependListener('upgrade', markUpgrade)
  for (const s of upgradeServers) s.on('upgrade', onUpgrade)
  fastify.addHook('onReady', function (done) {
    checkServerTimeouts(server, fastify.log)
    done()
  })

  // fastify.close(): refuse new upgrades, close every socket with 1001 Going Away, wait for the
  // closing handshakes up to closeTimeout, then terminate what is left.
  // A preClose option replaces the closing step, not the refusal of new upgrades.
  fastify.addHook('preClose', async () => {
    stopAccepting()
    if (opts.preClose == null) await closeAll(shared.clients, shared.options.closeTimeout)
    // then the HTTP/2 sessions they ran on (GOAWAY; Node before 24 leaves them open otherwise)
    http2?.closeSessions()
  })
  if (opts.preClose != null) fastify.addHook('preClose', opts.preClose)
  fastify.addHook('onClose', async () => {
    for (const s of upgradeServers) {
      s.removeListener('upgrade', onUpgrade)
      s.removeListener('upgrade', markUpgrade)
    }
    http2?.detach()
    server[kInstalled] = false
    await topics.close()
  })
}

/** Validate the plugin options and map @fastify/websocket's `options` onto ours. */
function prepareOptions (opts: WebSocketPluginOptions): { options: WebSocketPluginOptions, mapped: MappedWsOptions } {
  checkPluginKeys(opts)
  // as @fastify/websocket: a handler that is not a function is refused, not ignored
  if (opts.errorHandler != null && typeof opts.errorHandler !== 'function') throw compatOptionError('invalid errorHandler function')
  if (opts.preClose != null && typeof opts.preClose !== 'function') throw compatOptionError('invalid preClose function')
  const mapped = mapWsServerOptions(opts.options)
  for (const key of Object.keys(mapped.shared) as Array<keyof WebSocketSharedOptions>) {
    if (opts[key] !== undefined) throw wsError('WS_ERR_INVALID_OPTION', `${key} is given both in the plugin options and in options: give it once`)
  }
  return { options: { ...opts, ...mapped.shared }, mapped }
}

/** Close every socket with 1001 and resolve once all have closed, terminating stragglers after `timeout` ms. */
function closeAll (clients: Set<WebSocket>, timeout: number): Promise<void> {
  if (clients.size === 0) return Promise.resolve()
  return new Promise(resolve => {
    const timer = setTimeout(() => { for (const ws of clients) ws.terminate() }, timeout)
    const check = (): void => {
      if (clients.size === 0) {
        clearTimeout(timer)
        resolve()
      }
    }
    for (const ws of [...clients]) {
      ws.once('close', () => process.nextTick(check))
      if (ws.readyState === OPEN) ws.close(1001, 'Server shutting down')
    }
  })
}

const plugin = fp(fastifyRfc6455, { fastify: '5.x', name: 'fastify-rfc6455' })

export default plugin
export { plugin as fastifyRfc6455 }
/** @fastify/websocket's named export, so that `import { fastifyWebsocket } from ...` keeps working */
export { plugin as fastifyWebsocket }
export { WebSocket } from './socket'
export { createWebSocketStream, type WebSocketStreamOptions } from './stream'
export type { SendOptions, SendCallback, PingCallback, WebSocketData, BackpressurePolicy, WebSocketEventListeners } from './socket'
export { WebSocketError, errorCodes, type WebSocketErrorCode } from './errors'
export type { WebSocketPluginOptions, WebSocketSharedOptions, HeartbeatOptions, AllowedOrigins } from './plugin/options'
export type { WebSocketRouteOptions, WebSocketRouteHandlers, WebSocketHandler } from './plugin/route'
export type { SchemaWebSocket, WebSocketMessageSchema, MessageOf, SendOf } from './plugin/message-schema'
// @fastify/websocket's type names
export type { WebSocketHandler as WebsocketHandler, WebSocketRouteOptions as WebsocketRouteOptions } from './plugin/route'
export type { WebSocketPluginOptions as WebsocketPluginOptions } from './plugin/options'
export { InjectRefusedError, type InjectWSOptions, type InjectWSContext, type InjectWSHooks } from './plugin/inject'
export { WebSocketServer, type WebSocketServerEvents } from './plugin/server'
export type { WsServerOptions, WsPerMessageDeflateOptions, VerifyClient, VerifyClientInfo } from './plugin/ws-options'
export type { WebSocketErrorHandler } from './plugin/options'
export { MessageEvent, CloseEvent, ErrorEvent, WsEvent, type BinaryType, type EventTargetEvents, type EventListenerFn } from './event-target'
export type { PubSubAdapter, PublishedMessage, DeliverFunction, AdapterContext, ReplayResult } from './pubsub/adapter'
export { memoryAdapter, MemoryAdapter, type MemoryAdapterOptions } from './pubsub/memory'
export type { ResumeOptions } from './pubsub/resume'
export { redisAdapter, RedisAdapter, type RedisAdapterOptions, type RedisAdapterLogger } from './pubsub/redis'
export { RedisClientAdapter, type RedisClientAdapterOptions, type RedisUrlAdapterOptions } from './pubsub/redis-client'
export type { RedisClient, IoRedisClient, NodeRedisClient } from './pubsub/redis-driver'
export { clusterAdapter, ClusterAdapter, type ClusterAdapterOptions, type ClusterLogger } from './pubsub/cluster'
export { setupPrimary, type ClusterPrimary, type ClusterPrimaryOptions } from './pubsub/cluster-primary'
export type { PublishOptions } from './pubsub/topics'
export type { WebSocketMemory } from './augmentation'
export type { WebSocketStats, WebSocketRouteStats, WebSocketSocketStats, WebSocketTrafficStats } from './stats'
export { prometheusText, PROMETHEUS_CONTENT_TYPE, type PrometheusTextOptions } from './prometheus'
export {
  diagnosticsChannels, type HandshakeRefusedMessage, type OpenMessage, type CloseMessage, type ProtocolErrorMessage,
  type BackpressureMessage, type HeartbeatTimeoutMessage, type MemoryLimitMessage, type AdapterMessage, type MessageMessage
} from './diagnostics'
export type { DeflateOptions } from './handshake/extensions'
export type { CompressorMode, DecompressorMode } from './engine/deflate-options'

/** Each open socket's machinery with its route's counters. */
function * openSockets (sockets: Set<WebSocket>): Iterable<[CountedSocket, RouteCounters | null]> {
  for (const ws of sockets) {
    const session = sessionOf(ws)
    yield [session, session.ctx.stats ?? null]
  }
}

/** Bytes held by `sockets` now (the gauge when no budget keeps a running total). */
function heldBytes (sockets: Set<WebSocket>): number {
  let n = 0
  for (const ws of sockets) n += sessionOf(ws).holding
  return n
}
