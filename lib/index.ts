// fastify-rfc6455: WebSocket routes for Fastify on an RFC 6455 engine of its own.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { resolveOptions, resolveHandshakeTimeout, resolveMemoryBudget, type WebSocketPluginOptions } from './plugin/options'
import { createOnRoute, routeStateOf, upgradeOnly, type PluginShared } from './plugin/route'
import { createUpgradeListener, markUpgrade, checkServerTimeouts, kUpgrade, type UpgradeRequest, type UpgradeState } from './plugin/upgrade'
import { injectWS, type InjectWSOptions } from './plugin/inject'
import { wsError } from './errors'
import { MemoryBudget } from './budget'
import type { WebSocketMemory } from './types'
import { WebSocket } from './socket'
import { OPEN } from './engine/constants'
import { Topics, type PublishOptions } from './pubsub/topics'
import { memoryAdapter } from './pubsub/memory'
import { toBuffer, type WebSocketData } from './socket'
import './types'

const kInstalled = Symbol('fastify-rfc6455.installed')

async function fastifyRfc6455 (fastify: FastifyInstance, opts: WebSocketPluginOptions): Promise<void> {
  const server = fastify.server as typeof fastify.server & { [kInstalled]?: boolean }
  if (server[kInstalled] === true) throw wsError('WS_ERR_INVALID_OPTION', 'fastify-rfc6455 is already registered on this server')
  server[kInstalled] = true
  const options = resolveOptions(opts)
  const topics = new Topics(opts.pubsub ?? memoryAdapter(), (err, msg) => fastify.log.error({ err }, msg))
  await topics.start({ maxPayload: options.maxPayload })
  const clients = new Set<WebSocket>()
  const budget = opts.memoryBudget === undefined || opts.memoryBudget === 0 ? null : new MemoryBudget(resolveMemoryBudget(opts.memoryBudget), clients)
  const shared: PluginShared = { options, topics, clients, closing: false, errorHandler: opts.errorHandler, budget,
    sharedReads: opts.sharedReads !== false }
  const upgradeState: UpgradeState = {
    handshakeTimeout: resolveHandshakeTimeout(opts.handshakeTimeout),
    closing: false,
    routing: fastify.routing,
    log: fastify.log
  }
  const onUpgrade = createUpgradeListener(upgradeState)

  fastify.addHook('onRoute', createOnRoute(shared))
  allowRoutesWithoutHandler(fastify)
  fastify.addHook('onRequest', refuseUpgradeToPlainRoute)

  fastify.decorate('websocketClients', shared.clients)
  fastify.decorate('websocketMemory', function (): WebSocketMemory {
    return { heldBytes: budget?.held ?? heldBytes(clients), maxBytes: budget?.max ?? 0, evictions: budget?.evictions ?? 0 }
  })
  fastify.decorate('websocketPublish', function (topic: string, data: WebSocketData, options?: PublishOptions) {
    topics.publish(topic, toBuffer(data), options?.binary ?? typeof data !== 'string', null)
  })
  fastify.decorate('websocketSubscribers', function (topic: string) {
    return topics.subscribers(topic)
  })
  fastify.decorate('injectWS', function (path: string, options?: InjectWSOptions) {
    return injectWS(onUpgrade, path, options)
  })

  // the mark runs first in every 'upgrade' emit, so onUpgrade sees what listeners before it wrote
  server.prependListener('upgrade', markUpgrade)
  server.on('upgrade', onUpgrade)
  fastify.addHook('onReady', function (done) {
    checkServerTimeouts(server, fastify.log)
    done()
  })

  // fastify.close(): refuse new upgrades, close every socket with 1001 Going Away, wait for the
  // closing handshakes up to closeTimeout, then terminate what is left.
  fastify.addHook('preClose', async () => {
    shared.closing = true
    upgradeState.closing = true
    await closeAll(shared.clients, shared.options.closeTimeout)
  })
  fastify.addHook('onClose', async () => {
    server.removeListener('upgrade', onUpgrade)
    server.removeListener('upgrade', markUpgrade)
    server[kInstalled] = false
    await topics.close()
  })
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

/**
 * An upgrade request that reached a route without `websocket` is refused over HTTP, never
 * upgraded: most often the route was declared before this plugin finished loading.
 */
function refuseUpgradeToPlainRoute (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if ((request.raw as UpgradeRequest)[kUpgrade] === undefined || request.is404 || routeStateOf(request) !== undefined) {
    done()
    return
  }
  request.log.warn({ url: request.url }, 'WebSocket upgrade to a route without the websocket option; if it has one, ' +
    'declare it after `await app.register(fastifyRfc6455)` or inside a plugin registered after it')
  reply.code(404).send(wsError('WS_ERR_NOT_WEBSOCKET_ROUTE'))
}

/** `websocket: {...}` routes need no plain-HTTP handler: give them one that answers 426. */
function allowRoutesWithoutHandler (fastify: FastifyInstance): void {
  const route = fastify.route
  fastify.route = function (this: FastifyInstance, options: RouteOptions & { websocket?: unknown }) {
    if (options.websocket !== undefined && options.websocket !== false && options.handler === undefined) {
      options = { ...options, handler: upgradeOnly }
    }
    return (route as (o: unknown) => FastifyInstance).call(this, options)
  } as typeof fastify.route
  const get = fastify.get
  fastify.get = function (this: FastifyInstance, path: string, options?: unknown, handler?: unknown) {
    const o = options as { websocket?: unknown, handler?: unknown } | undefined
    if (handler === undefined && typeof o === 'object' && o !== null && o.websocket !== undefined && o.websocket !== false && o.handler === undefined) {
      handler = upgradeOnly
    }
    return (get as (...args: unknown[]) => FastifyInstance).call(this, path, options, handler)
  } as typeof fastify.get
}

const plugin = fp(fastifyRfc6455, { fastify: '5.x', name: 'fastify-rfc6455' })

export default plugin
export { plugin as fastifyRfc6455 }
export { WebSocket } from './socket'
export { createWebSocketStream, type WebSocketStreamOptions } from './stream'
export type { SendOptions, SendCallback, PingCallback, WebSocketData, BackpressurePolicy } from './socket'
export { WebSocketError, errorCodes, type WebSocketErrorCode } from './errors'
export type { WebSocketPluginOptions, WebSocketSharedOptions, HeartbeatOptions, AllowedOrigins } from './plugin/options'
export type { WebSocketRouteOptions, WebSocketRouteHandlers, WebSocketHandler } from './plugin/route'
export { InjectRefusedError, type InjectWSOptions } from './plugin/inject'
export type { PubSubAdapter, PublishedMessage, DeliverFunction, AdapterContext } from './pubsub/adapter'
export { memoryAdapter, MemoryAdapter } from './pubsub/memory'
export { redisAdapter, RedisAdapter, type RedisAdapterOptions, type RedisAdapterLogger } from './pubsub/redis'
export type { PublishOptions } from './pubsub/topics'
export type { WebSocketMemory } from './types'
export type { DeflateOptions } from './handshake/extensions'

/** Bytes held by `sockets` now (the gauge when no budget keeps a running total). */
function heldBytes (sockets: Set<WebSocket>): number {
  let n = 0
  for (const ws of sockets) n += ws._holding
  return n
}
