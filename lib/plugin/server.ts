// `app.websocketServer`: the part of ws's WebSocketServer that apps written for
// @fastify/websocket use: the open sockets, the 'connection' and 'headers' events, close().
// Upgrades are routed by Fastify, so there is no server of our own to listen or bind.
import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { WebSocket } from '../socket'

export interface WebSocketServerEvents {
  /** a socket opened (after the 101 was written, before the route's handler runs) */
  connection: [socket: WebSocket, request: IncomingMessage]
  /** the 101's header lines, status line first, before they are written: push to add headers */
  headers: [headers: string[], request: IncomingMessage]
  /** close() was called */
  close: []
}

export class WebSocketServer extends EventEmitter {
  /** every open socket of this plugin (ws's `clientTracking` is always on: shutdown needs it) */
  readonly clients: Set<WebSocket>
  private readonly _stop: () => void

  /** @internal */
  constructor (clients: Set<WebSocket>, stop: () => void) {
    super()
    this.clients = clients
    this._stop = stop
  }

  /**
   * Refuse new upgrades (503) from now on; as ws 8 does, open sockets are left open (close them
   * with `socket.close()`, or let `app.close()` do it). `cb` runs on the next tick.
   */
  close (cb?: (err?: Error) => void): void {
    this._stop()
    process.nextTick(() => {
      this.emit('close')
      cb?.()
    })
  }
}

// typed events (declaration merging with the class above)
export interface WebSocketServer {
  on<E extends keyof WebSocketServerEvents> (event: E, listener: (...args: WebSocketServerEvents[E]) => void): this
  on (event: string | symbol, listener: (...args: never[]) => void): this
  once<E extends keyof WebSocketServerEvents> (event: E, listener: (...args: WebSocketServerEvents[E]) => void): this
  once (event: string | symbol, listener: (...args: never[]) => void): this
  off<E extends keyof WebSocketServerEvents> (event: E, listener: (...args: WebSocketServerEvents[E]) => void): this
  off (event: string | symbol, listener: (...args: never[]) => void): this
}
