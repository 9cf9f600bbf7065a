// Options shared by the plugin, its routes and the client: public types, defaults and validation,
// and the route-over-plugin merge. They sit at the socket layer so that the client and the
// plugin both build on them without depending on each other. Every limit has a default
// (DESIGN.md section 5).
import { wsError } from './errors'
import { DEFAULT_MAX_PAYLOAD, DEFAULT_CLOSE_TIMEOUT } from './engine/constants'
import { DEFAULT_MAX_FRAGMENTS } from './engine/parser'
import { DEFAULT_MAX_PENDING_AUTO_PONGS } from './engine/connection-options'
import { resolveDeflateOptions, type DeflateOptions } from './engine/deflate-options'
import { count, positive } from './engine/option-checks'
import type { BackpressurePolicy } from './socket'

export interface HeartbeatOptions {
  /** ms between pings (default 30000) */
  interval?: number
  /** ms to wait for the pong before the peer is terminated (default: the interval) */
  timeout?: number
}

/** Origins allowed to open a socket: a list (`'*'`, exact origins, `https://*.example.com`) or a function. */
export type AllowedOrigins = string[] | ((origin: string | undefined, request: unknown) => boolean | Promise<boolean>)

/** Options shared by the plugin and each route (a route's value wins). */
export interface WebSocketSharedOptions {
  /** largest message accepted, in bytes; larger ones close 1009 (default 16 MiB) */
  maxPayload?: number
  /** ping peers and terminate those that stop answering (default off) */
  heartbeat?: HeartbeatOptions | boolean
  /** origins allowed to connect, checked before the upgrade (403); default: any */
  allowedOrigins?: AllowedOrigins
  /** bytes a socket may have queued before the backpressure policy applies (default 16 MiB) */
  maxBackpressure?: number
  /**
   * what happens to a send over maxBackpressure: 'close' (1008, default) or 'drop'; it also
   * applies past maxPendingAutoPongs: 'close' fails with 1008, 'drop' answers no more pings until
   * the peer reads
   */
  backpressurePolicy?: BackpressurePolicy
  /** most frames one incoming message may arrive in, empty ones included; more close 1008 (default 65536, 0: no limit) */
  maxFragments?: number
  /**
   * automatic pongs queued while the peer is not reading our output, before the policy applies
   * (default 100, 0: no limit)
   */
  maxPendingAutoPongs?: number
  /** answer pings automatically (default true) */
  autoPong?: boolean
  /** ms to wait for the closing handshake before the connection is destroyed (default 5000) */
  closeTimeout?: number
  /** permessage-deflate (RFC 7692): off by default; `true` for the defaults, or options */
  perMessageDeflate?: boolean | DeflateOptions
}

/**
 * Every key of the shared options, for the plugin's and the routes' checks that refuse unknown
 * keys. Typed against WebSocketSharedOptions: an option added there and not here fails to compile.
 */
export const SHARED_OPTION_KEYS: Readonly<Record<keyof WebSocketSharedOptions, true>> = {
  maxPayload: true,
  heartbeat: true,
  allowedOrigins: true,
  maxBackpressure: true,
  backpressurePolicy: true,
  maxFragments: true,
  maxPendingAutoPongs: true,
  autoPong: true,
  closeTimeout: true,
  perMessageDeflate: true
}

export interface ResolvedOptions {
  maxPayload: number
  heartbeatInterval: number
  pongTimeout: number
  allowedOrigins: AllowedOrigins | undefined
  maxBackpressure: number
  backpressurePolicy: BackpressurePolicy
  maxFragments: number
  maxPendingAutoPongs: number
  autoPong: boolean
  closeTimeout: number
  /** permessage-deflate options, or false when off */
  perMessageDeflate: DeflateOptions | false
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000
export const DEFAULT_HEARTBEAT_INTERVAL = 30_000
export const DEFAULT_MAX_BACKPRESSURE = 16 * 1024 * 1024

function resolveHeartbeat (value: HeartbeatOptions | boolean | undefined, fallback: [number, number]): [number, number] {
  if (value === undefined) return fallback
  if (value === false) return [0, 0]
  const hb = value === true ? {} : value
  if (typeof hb !== 'object' || hb === null) throw wsError('WS_ERR_INVALID_OPTION', 'heartbeat must be a boolean or { interval, timeout }')
  const interval = positive('heartbeat.interval', hb.interval, DEFAULT_HEARTBEAT_INTERVAL)
  return [interval, positive('heartbeat.timeout', hb.timeout, interval)]
}

/** Resolve `options` over `base` (the plugin's resolved options, or the defaults). */
export function resolveOptions (options: WebSocketSharedOptions, base?: ResolvedOptions): ResolvedOptions {
  const b = base ?? DEFAULTS
  const policy = options.backpressurePolicy ?? b.backpressurePolicy
  if (policy !== 'close' && policy !== 'drop') throw wsError('WS_ERR_INVALID_OPTION', `backpressurePolicy must be 'close' or 'drop', got ${String(policy)}`)
  const [heartbeatInterval, pongTimeout] = resolveHeartbeat(options.heartbeat, [b.heartbeatInterval, b.pongTimeout])
  return {
    maxPayload: positive('maxPayload', options.maxPayload, b.maxPayload),
    heartbeatInterval,
    pongTimeout,
    allowedOrigins: options.allowedOrigins ?? b.allowedOrigins,
    maxBackpressure: positive('maxBackpressure', options.maxBackpressure, b.maxBackpressure),
    backpressurePolicy: policy,
    maxFragments: count('maxFragments', options.maxFragments, b.maxFragments),
    maxPendingAutoPongs: count('maxPendingAutoPongs', options.maxPendingAutoPongs, b.maxPendingAutoPongs),
    autoPong: options.autoPong ?? b.autoPong,
    closeTimeout: positive('closeTimeout', options.closeTimeout, b.closeTimeout),
    perMessageDeflate: resolveDeflate(options.perMessageDeflate, b.perMessageDeflate)
  }
}

function resolveDeflate (value: boolean | DeflateOptions | undefined, fallback: DeflateOptions | false): DeflateOptions | false {
  if (value === undefined) return fallback
  if (value === false) return false
  const options = value === true ? {} : value
  resolveDeflateOptions(options) // validates now, at registration, not at the first handshake
  return options
}

const DEFAULTS: ResolvedOptions = {
  maxPayload: DEFAULT_MAX_PAYLOAD,
  heartbeatInterval: 0,
  pongTimeout: 0,
  allowedOrigins: undefined,
  maxBackpressure: DEFAULT_MAX_BACKPRESSURE,
  backpressurePolicy: 'close',
  maxFragments: DEFAULT_MAX_FRAGMENTS,
  maxPendingAutoPongs: DEFAULT_MAX_PENDING_AUTO_PONGS,
  autoPong: true,
  closeTimeout: DEFAULT_CLOSE_TIMEOUT,
  perMessageDeflate: false
}
