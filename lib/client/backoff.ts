// Reconnect policy as pure functions: how long to wait before attempt n, and which failures are
// worth another attempt at all.
import { WebSocketError } from '../errors'
import { backoffDelay, type BackoffPolicy } from '../backoff'
import { integerIn, numberIn } from '../engine/option-checks'
import { isHandshakeRefusal } from './refusal'

export { backoffDelay }

export interface ReconnectOptions {
  /** attempts after a failure or a drop before giving up (default Infinity); 0 never reconnects */
  retries?: number
  /** ms before the first attempt (default 1000) */
  minDelay?: number
  /** ms cap on any wait (default 30000) */
  maxDelay?: number
  /** growth of the wait per consecutive failure (default 2) */
  factor?: number
  /** share of the wait that is random, 0 to 1 (default 0.5): the wait is `d * (1 - jitter * random())` */
  jitter?: number
}

export interface ResolvedBackoff extends BackoffPolicy {
  retries: number
}

const DEFAULTS: ResolvedBackoff = { retries: Infinity, minDelay: 1000, maxDelay: 30_000, factor: 2, jitter: 0.5 }

/** Codes that would fail the same way on every attempt: configuration, not the network. */
const PERMANENT = new Set(['WS_ERR_CLIENT_URL', 'WS_ERR_CLIENT_REDIRECTS', 'WS_ERR_CLIENT_EXTENSION',
  'WS_ERR_INVALID_OPTION', 'WS_ERR_INVALID_HEADER'])

/** @throws WebSocketError WS_ERR_INVALID_OPTION */
export function resolveBackoff (options: ReconnectOptions = {}): ResolvedBackoff {
  const minDelay = numberIn('reconnect.minDelay', options.minDelay, 0, Infinity, DEFAULTS.minDelay)
  return {
    retries: options.retries === Infinity ? Infinity : integerIn('reconnect.retries', options.retries, 0, Number.MAX_SAFE_INTEGER, DEFAULTS.retries),
    minDelay,
    maxDelay: numberIn('reconnect.maxDelay', options.maxDelay, minDelay, Infinity, Math.max(minDelay, DEFAULTS.maxDelay)),
    factor: numberIn('reconnect.factor', options.factor, 1, Infinity, DEFAULTS.factor),
    jitter: numberIn('reconnect.jitter', options.jitter, 0, 1, DEFAULTS.jitter)
  }
}

/**
 * Whether a failed opening is worth retrying. Refusals with a 4xx status mean "not you, not
 * like this" (401, 403, 404...) and are final, except 429 Too Many Requests and 408 Request
 * Timeout; 5xx (503 included) are retried, as are network errors, timeouts and broken
 * handshakes. Configuration errors (bad URL, option, header, redirect policy, extension) are
 * final.
 */
export function isRetryable (err: unknown): boolean {
  if (isHandshakeRefusal(err)) {
    const status = err.statusCode
    if (err.code === 'WS_ERR_CLIENT_REDIRECTS') return false
    if (status >= 400 && status <= 499) return status === 429 || status === 408
    return true
  }
  if (err instanceof WebSocketError) return !PERMANENT.has(err.code)
  return true
}

/** The server's Retry-After (RFC 9110 section 10.2.3) on a refusal, in ms, if it sent one. */
export function retryAfterMs (err: unknown, now: number = Date.now()): number | undefined {
  if (!isHandshakeRefusal(err)) return undefined
  const value = err.headers['retry-after']
  if (typeof value !== 'string' || value === '') return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
