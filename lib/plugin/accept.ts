// Completing an upgrade that got through routing and every hook: the handshake's checks (RFC
// 6455 section 4.2.1, or RFC 8441 over HTTP/2), origin, ws's verifyClient, subprotocol and
// extensions, then the 101 (or the 200 on an HTTP/2 stream), the WebSocket, and its handler.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { wsError, WebSocketError } from '../errors'
import { validateUpgradeRequest } from '../handshake/request'
import { computeAccept } from '../handshake/accept'
import { selectSubprotocol } from '../handshake/subprotocol'
import { buildSwitchingProtocols } from '../handshake/response'
import { parseExtensionHeader, negotiatePerMessageDeflateServer } from '../handshake/extensions'
import { PerMessageDeflate } from '../engine/deflate'
import { isPromiseLike } from '../engine/promise-like'
import { WebSocket } from '../socket'
import { sessionOf } from '../session'
import { verifyClientAllows, refuseVerified, beginSocket, remember } from './compat'
import { kUpgrade, claimSocket, type UpgradeRequest } from './upgrade'
import { validateExtendedConnect, buildHttp2Accept } from '../handshake/http2'
import { acceptHttp2Stream, emitHttp2Headers } from './http2'
import { openChannel, type OpenMessage } from '../diagnostics'
import type { RouteState } from './route'

/** An upgrade request that got through every hook, routed to a WebSocket route. */
export function acceptUpgrade (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
  const pending = (request.raw as UpgradeRequest)[kUpgrade]!
  if (pending.timedOut || pending.socket.destroyed) {
    reply.hijack()
    return undefined
  }
  if (state.shared.closing) throw wsError('WS_ERR_SHUTTING_DOWN')
  // past the memory budget a new connection would only push out an existing one: 503
  if (state.shared.budget?.exhausted === true) throw wsError('WS_ERR_MEMORY_BUDGET', `${state.shared.budget.held} bytes held`)
  const raw = request.raw
  // RFC 6455 section 4.2.1: the opening handshake is an HTTP/1.1 (or later) GET
  if (raw.httpVersionMajor < 1 || (raw.httpVersionMajor === 1 && raw.httpVersionMinor < 1)) {
    throw wsError('WS_ERR_HANDSHAKE_METHOD', `HTTP/${raw.httpVersion} cannot upgrade`)
  }
  let info
  try {
    info = pending.http2 === true ? validateExtendedConnect(raw.headers) : validateUpgradeRequest(raw.method, raw.headers)
  } catch (err) {
    // RFC 6455 section 4.4: tell the client which version we speak
    if (err instanceof WebSocketError && err.code === 'WS_ERR_HANDSHAKE_VERSION') reply.header('Sec-WebSocket-Version', '13')
    throw err
  }
  if (state.originAllowed !== null) {
    const allowed = state.originAllowed(info.origin, request)
    if (typeof allowed === 'object') {
      return allowed.then(ok => {
        if (!ok) throw wsError('WS_ERR_HANDSHAKE_ORIGIN', info.origin)
        return verifyThenComplete(fastify, state, request, reply, info.key, info.protocols)
      })
    }
    if (!allowed) throw wsError('WS_ERR_HANDSHAKE_ORIGIN', info.origin)
  }
  return verifyThenComplete(fastify, state, request, reply, info.key, info.protocols)
}

/** ws's verifyClient (if given), after Fastify's hooks and the origin check, then the 101. */
function verifyThenComplete (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply,
  key: string, offered: string[]): Promise<void> | undefined {
  const verify = state.shared.verifyClient
  if (verify === undefined) {
    completeUpgrade(fastify, state, request, reply, key, offered)
    return undefined
  }
  const verdict = verifyClientAllows(verify, request)
  if (verdict instanceof Promise) {
    return verdict.then(refusal => {
      if (refusal !== null) throw refuseVerified(reply, refusal)
      completeUpgrade(fastify, state, request, reply, key, offered)
    })
  }
  if (verdict !== null) throw refuseVerified(reply, verdict)
  completeUpgrade(fastify, state, request, reply, key, offered)
  return undefined
}

function completeUpgrade (fastify: FastifyInstance, state: RouteState, request: FastifyRequest, reply: FastifyReply,
  key: string, offered: string[]): void {
  const pending = (request.raw as UpgradeRequest)[kUpgrade]!
  if (pending.timedOut || pending.socket.destroyed) {
    reply.hijack()
    return
  }
  state.codec?.compileLate(request, reply)
  const websocket = state.websocket
  let protocol = ''
  const handleProtocols = state.shared.handleProtocols
  if (websocket.protocols !== undefined || websocket.selectProtocol !== undefined) {
    const chosen = selectSubprotocol(offered, websocket.selectProtocol ?? websocket.protocols ?? [], request)
    if (chosen === false) {
      // the count, not the names: apps that carry a token as a subprotocol would see it logged
      if (offered.length > 0 && websocket.requireProtocol !== false) throw wsError('WS_ERR_HANDSHAKE_PROTOCOL', `none of the ${offered.length} offered is served here`)
    } else {
      protocol = chosen
    }
  } else if (handleProtocols !== undefined) {
    // ws's handleProtocols: a Set of the offered names and the raw request; false: none
    const chosen = selectSubprotocol(offered, (names: string[]) => handleProtocols(new Set(names), request.raw), request)
    if (chosen !== false) protocol = chosen
  }
  // headers set by hooks (a Set-Cookie, say) go out with the 101, but for those that describe
  // the 101 itself, which buildSwitchingProtocols drops
  let extra: Array<[string, string | string[]]> | undefined
  const replyHeaders = reply.getHeaders()
  for (const name in replyHeaders) {
    const value = replyHeaders[name]
    if (value === undefined) continue
    ;(extra ??= []).push([name, Array.isArray(value) ? value.map(String) : String(value)])
  }
  // RFC 7692 section 5: accept the first acceptable permessage-deflate offer, if enabled
  const options = state.options
  let deflate: PerMessageDeflate | null = null
  let extensions = ''
  const extensionOffers = request.raw.headers['sec-websocket-extensions']
  if (options.perMessageDeflate !== false && extensionOffers !== undefined) {
    const agreed = negotiatePerMessageDeflateServer(parseExtensionHeader(extensionOffers), options.perMessageDeflate)
    if (agreed !== null) {
      deflate = new PerMessageDeflate(agreed.params, 'server', options.perMessageDeflate, options.maxPayload)
      extensions = agreed.header
    }
  }
  const server = state.shared.server
  const socket = pending.socket
  if (pending.http2 === true) {
    // RFC 8441 section 5: a 200, no Sec-WebSocket-Accept (unless the client sent a key anyway)
    let headers = buildHttp2Accept(protocol || undefined, extensions || undefined, extra, key === '' ? undefined : computeAccept(key))
    if (server.listenerCount('headers') > 0) headers = emitHttp2Headers(server, headers, request.raw)
    reply.hijack()
    acceptHttp2Stream(pending, headers)
  } else {
    let response = buildSwitchingProtocols(computeAccept(key), protocol || undefined, extensions || undefined, extra)
    if (server.listenerCount('headers') > 0) {
      // ws's 'headers' event: listeners may add lines to the 101 before it is written
      const lines = response.toString('latin1').split('\r\n').slice(0, -2)
      server.emit('headers', lines, request.raw)
      response = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
    }
    reply.hijack()
    claimSocket(pending, reply.raw)
    socket.write(response)
  }
  // the plugin's errorHandler is called with where the socket came from; without one, nothing is kept
  const context = state.shared.errorHandler === undefined ? null : { fastify, request, reply }
  if (context !== null) beginSocket(context)
  const ws = new WebSocket(socket, deflate === null ? state.connection : { ...state.connection, deflate },
    state.ctx, protocol, extensions, request.log, { head: pending.head, hold: true, sharedReads: state.shared.sharedReads && pending.http2 !== true, url: request.url })
  if (context !== null) remember(ws, context)
  const stats = state.ctx.stats
  if (stats != null) stats.accepted++
  if (openChannel.hasSubscribers) {
    openChannel.publish({
      socket: ws, request: request.raw, route: state.ctx.route ?? request.url, protocol, extensions, handshakeStart: pending.startedAt
    } satisfies OpenMessage)
  }
  server.emit('connection', ws, request.raw)
  // Messages arriving before the handler (or an async open) has settled are held, then delivered
  // in order; the bytes that came with the request (pending.head) were parsed before any read.
  // (ws.log makes the socket's child logger: only when the line is written; the route, not
  // request.url: a query string may carry a token)
  if (debugEnabled(request.log)) ws.log.debug({ route: request.routeOptions.url, protocol }, 'websocket open')
  let result: unknown
  try {
    result = state.handler !== null ? state.handler.call(fastify, ws, request) : websocket.open?.(ws, request)
  } catch (err) {
    state.ctx.onHandlerError(ws, err)
    sessionOf(ws).release()
    return
  }
  if (isPromiseLike(result)) {
    result.then(() => sessionOf(ws).release(), (err: unknown) => {
      state.ctx.onHandlerError(ws, err)
      sessionOf(ws).release()
    })
  } else {
    sessionOf(ws).release()
  }
}

/**
 * Whether `log` writes debug lines: pino (Fastify's logger) says so; a logger that cannot say is
 * assumed to. Checked before building a line that would make the socket's child logger.
 */
function debugEnabled (log: object): boolean {
  const { isLevelEnabled } = log as { isLevelEnabled?: unknown }
  return typeof isLevelEnabled !== 'function' || (isLevelEnabled as (level: string) => boolean).call(log, 'debug')
}
