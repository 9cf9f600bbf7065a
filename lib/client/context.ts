// The SocketContext of client sockets: one per connect() call, shared by nothing else.
import { OPEN, CLOSE_INTERNAL_ERROR } from '../engine/constants'
import type { SocketContext } from '../socket'
import type { ResolvedClientOptions } from './options'

/**
 * Client sockets have no route handlers, registry or pub/sub. An error thrown by a listener
 * goes to the socket's 'error' listeners (or to the logger, or a process warning when there is
 * neither, so that it is never silent) and closes the connection with 1011, as the server does.
 */
export function clientContext (settings: ResolvedClientOptions): SocketContext {
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
