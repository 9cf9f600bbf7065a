// Types of app.js, for the TypeScript tests (the demo itself is plain JavaScript).
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify'
import type { WebSocket, HeartbeatOptions, BackpressurePolicy, PubSubAdapter } from '../lib/index'

export interface ChatAppOptions {
  logger?: FastifyServerOptions['logger']
  /** HMAC key for session tokens (default: random per process) */
  secret?: string
  tokenTtlMs?: number
  /** messages kept per room and sent on join (50) */
  historySize?: number
  /** rooms kept in memory; beyond that the oldest empty one is forgotten (1000) */
  maxRooms?: number
  /** largest client message in bytes (16 KiB) */
  maxPayload?: number
  heartbeat?: HeartbeatOptions | boolean
  maxBackpressure?: number
  backpressurePolicy?: BackpressurePolicy
  closeTimeout?: number
  /** pub/sub adapter shared between processes (default: roomAdapter(), in-process with the room topics resumable) */
  pubsub?: PubSubAdapter
  /** serve over https with HTTP/2 (and HTTP/1.1): the WebSockets go over HTTP/2 too */
  https?: { key: string | Buffer, cert: string | Buffer }
  /** called with every socket that joined a room (tests and debugging) */
  onConnection?: (socket: WebSocket, request: FastifyRequest) => void
}

export type VerifyResult =
  | { ok: true, nickname: string, expiresAt: number }
  | { ok: false, reason: 'missing' | 'malformed' | 'bad-signature' | 'expired' }

export interface ChatApp extends FastifyInstance {
  chat: {
    tokens: {
      sign (nickname: string, expiresAt?: number): { token: string, expiresAt: number }
      verify (token: unknown, now?: number): VerifyResult
    }
  }
}

export function buildApp (options?: ChatAppOptions): Promise<ChatApp>
/** memoryAdapter with the `room:` topics resumable (the default `pubsub`) */
export function roomAdapter (): PubSubAdapter
export function sameOrigin (origin: string | undefined, request: { headers: { host?: string, ':authority'?: string } }): boolean
