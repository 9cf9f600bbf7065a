// The HTTP server's 'upgrade' listener: every upgrade request is run through Fastify's own
// routing (params, hooks, schema validation, error handler) with a ServerResponse bound to the
// raw socket, so a hook that replies or throws produces a real HTTP response on that socket.
// The route handler (route.ts) completes the handshake; this file owns the socket until then.
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { buildHttpResponse } from '../handshake/response'

export const kUpgrade = Symbol('fastify-rfc6455.upgrade')

/** An upgrade request between the 'upgrade' event and the 101 (or a refusal). */
export interface PendingUpgrade {
  socket: Duplex
  head: Buffer
  timer: NodeJS.Timeout | null
  /** the handshake completed and the socket belongs to a WebSocket now */
  upgraded: boolean
  /** the handshake timeout fired: whatever the hooks do later is discarded */
  timedOut: boolean
}

export type UpgradeRequest = IncomingMessage & { [kUpgrade]?: PendingUpgrade }

export interface UpgradeState {
  handshakeTimeout: number
  closing: boolean
  routing: (req: IncomingMessage, res: ServerResponse) => void
}

/** Shared by every pending socket: a reset before the upgrade completes just tears it down. */
function onPendingSocketError (this: Duplex): void {
  this.destroy()
}

function onPendingSocketClose (this: Duplex & { [kUpgrade]?: PendingUpgrade }): void {
  const pending = this[kUpgrade]
  if (pending === undefined) return
  this[kUpgrade] = undefined
  if (pending.timer !== null) clearTimeout(pending.timer)
  pending.timer = null
}

/** Write a raw HTTP refusal on an upgrade socket and close it once written. */
export function refuseRaw (socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return
  const body = JSON.stringify({ statusCode: status, error: message })
  socket.end(buildHttpResponse(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body))
  // do not wait for a peer that never reads its response
  socket.once('finish', destroyStream)
}

function destroyStream (this: Duplex): void { this.destroy() }

function onHandshakeTimeout (pending: PendingUpgrade): void {
  pending.timer = null
  if (pending.upgraded) return
  pending.timedOut = true
  refuseRaw(pending.socket, 503, 'WebSocket handshake timed out')
}

function onRefusalFinished (this: ServerResponse & { [kUpgrade]?: PendingUpgrade }): void {
  const pending = this[kUpgrade]
  if (pending === undefined || pending.upgraded) return
  const socket = pending.socket
  if (!socket.destroyed) {
    socket.end()
    socket.once('finish', destroyStream)
  }
}

export function createUpgradeListener (state: UpgradeState): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return function onUpgrade (req: UpgradeRequest, socket: Duplex, head: Buffer): void {
    socket.on('error', onPendingSocketError)
    if (state.closing) {
      refuseRaw(socket, 503, 'Server is shutting down')
      return
    }
    const pending: PendingUpgrade = { socket, head, timer: null, upgraded: false, timedOut: false }
    pending.timer = setTimeout(onHandshakeTimeout, state.handshakeTimeout, pending)
    ;(socket as Duplex & { [kUpgrade]?: PendingUpgrade })[kUpgrade] = pending
    socket.once('close', onPendingSocketClose)
    req[kUpgrade] = pending

    const res = new ServerResponse(req) as ServerResponse & { [kUpgrade]?: PendingUpgrade }
    // a refusal closes the connection: no keep-alive on a socket that asked to upgrade
    res.shouldKeepAlive = false
    res.assignSocket(socket as Socket)
    res[kUpgrade] = pending
    res.on('finish', onRefusalFinished)
    state.routing(req, res)
  }
}

/** Hand the socket over from the pending state to a WebSocket. */
export function claimSocket (pending: PendingUpgrade, res: ServerResponse): void {
  pending.upgraded = true
  if (pending.timer !== null) clearTimeout(pending.timer)
  pending.timer = null
  const socket = pending.socket
  res.detachSocket(socket as Socket)
  socket.removeListener('error', onPendingSocketError)
  socket.removeListener('close', onPendingSocketClose)
  ;(socket as Duplex & { [kUpgrade]?: PendingUpgrade })[kUpgrade] = undefined
  const net = socket as Partial<Socket>
  net.setNoDelay?.(true)
  net.setTimeout?.(0)
}
