// The plugin's hooks on Fastify's routing: an upgrade to a route without `websocket` is refused
// over HTTP (404), and `websocket` routes may be declared without a plain-HTTP handler.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { wsError } from '../errors'
import { routeStateOf, upgradeOnly } from './route'
import { kUpgrade, type UpgradeRequest } from './upgrade'

/**
 * An upgrade request that reached a route without `websocket` is refused over HTTP, never
 * upgraded: most often the route was declared before this plugin finished loading.
 */
export function refuseUpgradeToPlainRoute (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  // request.ws (as @fastify/websocket): whether this request asks to upgrade
  const pending = (request.raw as UpgradeRequest)[kUpgrade]
  request.ws = pending !== undefined
  // for the counters and the handshake:refused channel, should this request be refused
  if (pending !== undefined && !request.is404) pending.route = request.routeOptions.url ?? null
  if (pending === undefined || request.is404 || routeStateOf(request) !== undefined) {
    done()
    return
  }
  request.log.warn({ url: request.url }, 'WebSocket upgrade to a route without the websocket option; if it has one, ' +
    'declare it after `await app.register(fastifyRfc6455)` or inside a plugin registered after it')
  reply.code(404).send(wsError('WS_ERR_NOT_WEBSOCKET_ROUTE'))
}

/** Fastify's onError hook: the code of the error an upgrade request is refused with, for the handshake:refused channel. */
export function noteUpgradeError (this: FastifyInstance, request: FastifyRequest, _reply: FastifyReply, error: Error & { code?: unknown }, done: () => void): void {
  const pending = (request.raw as UpgradeRequest)[kUpgrade]
  if (pending !== undefined) pending.error = typeof error.code === 'string' ? error.code : null
  done()
}

/** `websocket: {...}` routes need no plain-HTTP handler: give them one that answers 426. */
export function allowRoutesWithoutHandler (fastify: FastifyInstance): void {
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
