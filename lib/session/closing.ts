// The transport of a session closed: settle the engine, fold the socket's counters into its
// route's, tell the close channel, leave the budget, the registry and the topics, and emit
// 'close', after the events still held (session/deliver.ts) when there are any.
import type { Session } from '../session'
import { emitClose } from './deliver'
import * as dc from '../diagnostics'

/** The stream closed (its listeners are detached and the ticker stopped by the caller). */
export function transportClosed (session: Session): void {
  const conn = session.conn
  session.noteClose('peer')
  conn.transportClosed()
  const ctx = session.ctx
  const socket = session.socket
  const received = conn.closeFrameReceived ? conn.closeCode : 0
  ctx.stats?.closed(session, received, session.closeSent)
  if (dc.closeChannel.hasSubscribers) publishClose(session)
  ctx.budget?.remove(session)
  ctx.registry?.delete(socket)
  ctx.pubsub?.unsubscribeAll(socket)
  ctx.onClosed?.(socket, conn.closeCode)
  // what arrived before the close is delivered before it
  if (session.held !== null) session.closeHeld = true
  else emitClose(session)
}

function publishClose (session: Session): void {
  const conn = session.conn
  dc.closeChannel.publish({
    socket: session.socket,
    route: session.ctx.route ?? null,
    code: conn.closeCode,
    reason: conn.closeReason,
    codeSent: session.closeSent,
    closedBy: session.closedBy ?? 'peer',
    durationMs: performance.now() - session.openedAt,
    bytesIn: session.bytesIn,
    bytesOut: session.bytesOut
  } satisfies dc.CloseMessage)
}
