// The SocketContext of client sockets, those of connect() and of injectWS alike: one per
// socket opened, shared by nothing else. It sits beside the socket so that the client and the
// plugin (injectWS) both use it without depending on each other.
import { OPEN, CLOSE_INTERNAL_ERROR } from './engine/constants'
import type { BackpressurePolicy, Logger, SocketContext } from './socket'

/** What a client socket's context needs of its settings. */
export interface ClientContextSettings {
  /** the socket's logger, or null when the caller gave none */
  log: Logger | null
  maxBackpressure: number
  backpressurePolicy: BackpressurePolicy
}

/**
 * Client sockets have no route handlers, registry or pub/sub. An error thrown by a listener
 * goes to the socket's 'error' listeners (or to the logger, or a process warning when there is
 * neither, so that it is never silent) and closes the connection with 1011, as the server does.
 */
export function clientContext (settings: ClientContextSettings): SocketContext {
  return {
    handlers: null,
    onHandlerError (socket, err) {
      if (socket.readyState === OPEN) socket.close(CLOSE_INTERNAL_ERROR)
      if (socket.listenerCount('error') > 0) {
        socket.emit('error', err)
      } else if (settings.log !== null) {
        socket.log.error({ err }, 'error in a WebSocket listener: closing with 1011')
      } else {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WebSocketListenerError')
      }
    },
    onProtocolError (socket, err) {
      socket.log.debug({ code: err.code, closeCode: err.closeCode }, `websocket failed: ${err.message}`)
    },
    maxBackpressure: settings.maxBackpressure,
    backpressurePolicy: settings.backpressurePolicy,
    registry: null,
    pubsub: null
  }
}
