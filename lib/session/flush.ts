// Writing out: everything the engine queued goes to the stream in one go (corked when it is
// several chunks), with the send callbacks of the frames in it, once per receive or once per
// tick for sends made outside one (transport.ts). The output bound is applied here: past
// maxBackpressure the peer stops being read until it reads what we wrote ('drain').
import type { Session } from '../session'
import type { SendCallback } from '../socket'
import { READ_INFLATING, READ_OUTPUT } from '../reading'
import { wsError } from '../errors'
import { OPEN } from '../engine/constants'
import { COUNTING } from '../stats'
import * as dc from '../diagnostics'

/** Write everything queued on `session`'s connection. */
export function flush (session: Session): void {
  session.flushQueued = false
  const conn = session.conn
  const reader = session.reader
  if (reader.has(READ_INFLATING) && !conn.parser.isPaused) reader.unblock(READ_INFLATING)
  // Once the connection is closing, the peer's close frame and FIN must be read whatever our
  // output holds (an ending stream emits no 'drain' to clear the bound later)
  if (reader.has(READ_OUTPUT) && conn.readyState !== OPEN) reader.unblock(READ_OUTPUT)
  const chunks = conn.writer.take()
  if (chunks === null) return
  const stream = session.stream
  const cbs = conn.takeSentCallbacks()
  if (stream.destroyed || !stream.writable) {
    if (cbs !== null) runCallbacks(cbs, wsError('WS_ERR_CONNECTION_CLOSED'))
    return
  }
  // a closure only for writes that carry send callbacks
  const done = cbs === null ? undefined : (err?: Error | null) => runCallbacks(cbs, err ?? undefined)
  const n = chunks.length
  if (n === 1) {
    if (COUNTING) session.bytesOut += chunks[0].length
    stream.write(chunks[0], done)
  } else {
    stream.cork()
    let bytes = 0
    for (let i = 0; i < n - 1; i++) {
      bytes += chunks[i].length
      stream.write(chunks[i])
    }
    if (COUNTING) session.bytesOut += bytes + chunks[n - 1].length
    stream.write(chunks[n - 1], done)
    stream.uncork()
  }
  // Control frames count toward the output bound: a peer that sends pings (or anything we
  // answer) and never reads what we write stops being read until it does ('drain').
  if (stream.writableLength === 0) {
    conn.outputDrained()
  } else {
    conn.outputBacklogged = true
    if (session.bufferedAmount > session.ctx.maxBackpressure && conn.readyState === OPEN) reader.block(READ_OUTPUT)
  }
  if (session.ctx.budget != null) session.account()
}

function runCallbacks (cbs: SendCallback[], err: Error | undefined): void {
  for (let i = 0; i < cbs.length; i++) cbs[i](err)
}

/**
 * The slow-consumer policy, for a send past maxBackpressure: 'close' fails the connection (1008),
 * 'drop' drops the message; `cb` gets WS_ERR_BACKPRESSURE either way. Returns whether the send
 * may go ahead anyway (never, for now).
 */
export function applyBackpressurePolicy (session: Session, cb: SendCallback | undefined): boolean {
  const buffered = session.bufferedAmount
  const err = wsError('WS_ERR_BACKPRESSURE', `${buffered} bytes buffered`)
  if (cb !== undefined) process.nextTick(cb, err)
  const ctx = session.ctx
  const policy = ctx.backpressurePolicy
  if (ctx.stats != null) {
    if (policy === 'close') ctx.stats.backpressureCloses++
    else ctx.stats.backpressureDrops++
  }
  dc.publish<dc.BackpressureMessage>(dc.backpressure, { socket: session.socket, policy, bufferedAmount: buffered, maxBackpressure: ctx.maxBackpressure })
  if (policy === 'close') session.conn.failWith(err)
  return false
}
