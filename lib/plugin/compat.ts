// What WebSocket routes do for apps written for @fastify/websocket: the route's `websocket`
// object refuses keys it does not know, ws's verifyClient runs before the 101, the plugin's
// errorHandler gets (error, socket, request, reply) with `this` the Fastify instance.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TLSSocket } from 'node:tls'
import { wsError, type WebSocketError } from '../errors'
import { isPromiseLike } from '../engine/promise-like'
import type { WebSocket } from '../socket'
import type { WebSocketRouteOptions } from './route'
import { SHARED_OPTION_KEYS } from '../options'
import type { WebSocketErrorHandler } from './options'
import type { VerifyClient, VerifyClientInfo } from './ws-options'

/**
 * Every key a route's `websocket` object may have. Typed against WebSocketRouteOptions: an
 * option added there and not here fails to compile.
 */
const ROUTE_KEYS: Record<keyof WebSocketRouteOptions, true> = {
  open: true,
  message: true,
  close: true,
  drain: true,
  ping: true,
  pong: true,
  error: true,
  protocols: true,
  selectProtocol: true,
  requireProtocol: true,
  schema: true,
  validateSend: true,
  invalidMessage: true,
  binary: true,
  ...SHARED_OPTION_KEYS
}

const ROUTE_HINTS: Record<string, string> = {
  requireOrigin: 'use allowedOrigins: [...origins]',
  origins: 'use allowedOrigins: [...origins]',
  handler: 'declare the handler on the route, or use websocket: { open (socket, request) {} }',
  wsHandler: 'declare wsHandler on the route itself, or use websocket: { open (socket, request) {} }',
  subprotocols: 'use protocols: [...]',
  handleProtocols: 'use selectProtocol (offered, request) => string | false',
  verifyClient: 'check the request in an onRequest or preValidation hook of the route',
  preHandler: 'declare hooks on the route itself, beside websocket',
  onRequest: 'declare hooks on the route itself, beside websocket',
  preValidation: 'declare hooks on the route itself, beside websocket',
  options: 'give the options in the websocket object itself (maxPayload, perMessageDeflate, ...)'
}

/** Refuse keys of a route's `websocket` object this plugin does not know (WS_ERR_INVALID_OPTION). */
export function checkRouteKeys (spec: object, url: string): void {
  for (const key of Object.keys(spec)) {
    if (Object.hasOwn(ROUTE_KEYS, key)) continue
    const hint = ROUTE_HINTS[key] ?? `known keys: ${Object.keys(ROUTE_KEYS).join(', ')}`
    throw wsError('WS_ERR_INVALID_OPTION', `unknown key "${key}" in the websocket options of ${url}: ${hint}`)
  }
}

/** A refusal by verifyClient: the status (default 401), message and headers it asked for. */
export interface VerifyRefusal { code: number, message: string | undefined, headers: Record<string, unknown> | undefined }

/**
 * Run ws's verifyClient (sync, promise or callback form, told apart by its arity as ws does).
 * Resolves null when the upgrade may proceed.
 */
export function verifyClientAllows (verify: VerifyClient, request: FastifyRequest): VerifyRefusal | null | Promise<VerifyRefusal | null> {
  const raw = request.raw
  const info: VerifyClientInfo = {
    origin: raw.headers.origin ?? (raw.headers['sec-websocket-origin'] as string | undefined),
    secure: (raw.socket as TLSSocket).encrypted === true,
    req: raw
  }
  if (verify.length >= 2) {
    return new Promise((resolve, reject) => {
      try {
        (verify as (i: VerifyClientInfo, cb: (ok: boolean, code?: number, message?: string, headers?: Record<string, unknown>) => void) => void)(info,
          (ok, code, message, headers) => resolve(ok ? null : { code: code ?? 401, message, headers }))
      } catch (err) { reject(err) }
    })
  }
  const result = (verify as (i: VerifyClientInfo) => boolean | Promise<boolean>)(info)
  if (isPromiseLike(result)) return Promise.resolve(result).then(ok => ok ? null : { code: 401, message: undefined, headers: undefined })
  return result ? null : { code: 401, message: undefined, headers: undefined }
}

/** Answer a verifyClient refusal: its status and headers, the error body Fastify writes. */
export function refuseVerified (reply: FastifyReply, refusal: VerifyRefusal): WebSocketError {
  if (refusal.headers !== undefined) reply.headers(refusal.headers as Record<string, string>)
  const err = wsError('WS_ERR_HANDSHAKE_VERIFY', refusal.message)
  ;(err as { statusCode: number | undefined }).statusCode = refusal.code
  return err
}

/** Where a socket came from, for the plugin's errorHandler. */
export interface UpgradeContext { fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply }

const contexts = new WeakMap<WebSocket, UpgradeContext>()
/** the socket being constructed: errors in the bytes that came with the handshake arrive before `remember` */
let constructing: UpgradeContext | null = null

export function beginSocket (context: UpgradeContext): void { constructing = context }

export function remember (socket: WebSocket, context: UpgradeContext): void {
  constructing = null
  contexts.set(socket, context)
}

/** Call the plugin's errorHandler as @fastify/websocket does; false if there is no context to call it with. */
export function callErrorHandler (handler: WebSocketErrorHandler, socket: WebSocket, err: unknown): boolean {
  const context = contexts.get(socket) ?? constructing
  if (context === null) return false
  const error = err instanceof Error ? err : new Error(String(err), { cause: err })
  try {
    const r: unknown = handler.call(context.fastify, error, socket, context.request, context.reply)
    if (isPromiseLike(r)) r.then(undefined, (e: unknown) => logFailure(socket, e))
  } catch (e) {
    // an error handler that throws must not take the process down
    logFailure(socket, e)
  }
  return true
}

function logFailure (socket: WebSocket, err: unknown): void {
  socket.log.error({ err }, 'the WebSocket errorHandler failed: terminating the socket')
  socket.terminate()
}
