// Delivery of what the engine received to the route's handlers and the socket's listeners, and
// the hold queue in front of it: while an async open handler runs (or until a client's caller
// has attached its listeners) events wait in arrival order, then `release` delivers them. What
// a handler or listener throws goes to the context's error handler, never up into the parser.
import type { Session } from '../session'
import type { SocketHandlers } from '../socket'
import { READ_HELD } from '../reading'
import { toBinaryType } from '../event-target'
import { isPromiseLike } from '../engine/promise-like'
import { kRejected } from '../symbols'

/** kinds of held events; each takes three slots: kind, payload, isBinary */
export const HELD_MESSAGE = 0
export const HELD_PING = 1
export const HELD_PONG = 2
export const HELD_ERROR = 3

const EMPTY = Buffer.alloc(0)

/** A message to the route's handler and the listeners (as binaryType says). */
export function deliver (session: Session, data: Buffer, isBinary: boolean): void {
  const ctx = session.ctx
  const socket = session.socket
  const h = ctx.handlers
  try {
    // a route with message schemas: text reaches handlers and listeners as its validated value
    // (binary untouched, to the route's binary handler instead of its message handler)
    const codec = ctx.codec
    if (codec != null) {
      const value = isBinary ? codec.binary(socket, data) : codec.decode(socket, data)
      if (value === kRejected) return
      if (!isBinary && h?.message !== undefined) {
        const result = (h.message as (s: typeof socket, v: unknown, b: boolean) => unknown)(socket, value, false)
        if (isPromiseLike(result)) result.then(undefined, (err: unknown) => ctx.onHandlerError(socket, err))
      }
      const type = session.binaryType
      socket.emit('message', isBinary && type !== 'nodebuffer' ? toBinaryType(data, type) : value, isBinary)
      return
    }
    if (h?.message !== undefined) {
      const result = h.message(socket, data, isBinary)
      if (isPromiseLike(result)) result.then(undefined, (err: unknown) => ctx.onHandlerError(socket, err))
    }
    const type = session.binaryType
    socket.emit('message', isBinary && type !== 'nodebuffer' ? toBinaryType(data, type) : data, isBinary)
  } catch (err) {
    ctx.onHandlerError(socket, err)
  }
}

/** A control frame to the route's handler and the listeners. */
export function control (session: Session, event: 'ping' | 'pong', handler: SocketHandlers['ping'], data: Buffer): void {
  const socket = session.socket
  try {
    if (handler !== undefined) handler(socket, data)
    socket.emit(event, data)
  } catch (err) { session.ctx.onHandlerError(socket, err) }
}

/** 'close' to the route's handler and the listeners, with the code and reason the engine settled. */
export function emitClose (session: Session): void {
  const conn = session.conn
  const socket = session.socket
  const reason = conn.closeReason === '' ? EMPTY : Buffer.from(conn.closeReason)
  const h = session.ctx.handlers
  try {
    if (h?.close !== undefined) h.close(socket, conn.closeCode, reason)
    socket.emit('close', conn.closeCode, reason)
  } catch (err) { session.ctx.onHandlerError(socket, err) }
}

/** Deliver held events in order; then 'close' if the transport closed meanwhile, or read on. */
export function release (session: Session): void {
  const held = session.held
  if (held === null) return
  session.held = null
  session.heldBytes = 0
  const handlers = session.ctx.handlers
  const socket = session.socket
  for (let i = 0; i < held.length; i += 3) {
    const kind = held[i]
    if (kind === HELD_MESSAGE) deliver(session, held[i + 1] as Buffer, held[i + 2] as boolean)
    else if (kind === HELD_PING) control(session, 'ping', handlers?.ping, held[i + 1] as Buffer)
    else if (kind === HELD_PONG) control(session, 'pong', handlers?.pong, held[i + 1] as Buffer)
    else if (socket.listenerCount('error') > 0) socket.emit('error', held[i + 1])
  }
  if (session.closeHeld) {
    session.closeHeld = false
    emitClose(session)
    return
  }
  session.reader.unblock(READ_HELD)
}
