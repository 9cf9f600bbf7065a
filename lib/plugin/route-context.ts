// The SocketContext of a WebSocket route, shared by every socket it opens: its handlers, where
// errors go (the route's `error` handler, else the plugin's errorHandler, else log and 1011),
// its backpressure settings and the plugin's registry, budget and topics.
import type { SocketContext } from '../socket'
import { isPromiseLike } from '../engine/promise-like'
import { sessionOf } from '../session'
import { OPEN } from '../engine/constants'
import type { ResolvedOptions } from './options'
import type { PluginShared, WebSocketRouteOptions } from './route'
import { callErrorHandler } from './compat'
import { wsError } from '../errors'

export function buildSocketContext (websocket: WebSocketRouteOptions<any>, options: ResolvedOptions, shared: PluginShared, url: string): SocketContext {
  const onError = websocket.error
  const { message, close, drain, ping, pong } = websocket
  return {
    handlers: message !== undefined || close !== undefined || drain !== undefined || ping !== undefined || pong !== undefined
      ? { message, close, drain, ping, pong }
      : null,
    onHandlerError (socket, err) {
      if (onError !== undefined) return callSafely(onError, socket, err)
      if (shared.errorHandler !== undefined && callErrorHandler(shared.errorHandler, socket, err)) return
      // nobody took it: it fails the connection (WS_ERR_HANDLER, 1011), the thrown value as the cause
      const failure = wsError('WS_ERR_HANDLER', undefined, err)
      socket.log.error({ err: failure }, 'error in a WebSocket handler: closing with 1011')
      if (socket.readyState === OPEN) socket.close(failure.closeCode)
    },
    onProtocolError (socket, err) {
      socket.log.debug({ code: err.code, closeCode: err.closeCode }, `websocket failed: ${err.message}`)
      if (onError !== undefined) callSafely(onError, socket, err)
      // as @fastify/websocket: the socket's own errors reach the plugin's errorHandler too
      else if (shared.errorHandler !== undefined) callErrorHandler(shared.errorHandler, socket, err)
    },
    maxBackpressure: options.maxBackpressure,
    backpressurePolicy: options.backpressurePolicy,
    registry: shared.clients,
    budget: shared.budget,
    pubsub: shared.topics,
    stats: shared.counters.route(url),
    route: url,
    onClosed (socket, code) {
      socket.log.debug({ code, durationMs: Math.round(performance.now() - sessionOf(socket).openedAt) }, 'websocket closed')
    }
  }
}

function callSafely<A, B> (fn: (a: A, b: B) => unknown, a: A, b: B): void {
  try {
    const r = fn(a, b)
    if (isPromiseLike(r)) r.then(undefined, noop)
  } catch {
    // an error handler that throws must not take the process down
  }
}

function noop (): void {}
