// Exponential backoff with jitter, for everything that reconnects: the client's reconnect() and
// the Redis adapter's links. At the socket layer so that both (siblings that may not import each
// other) share it; pure functions of the attempt number.

/** How the wait grows: from minDelay, times factor per consecutive failure, capped at maxDelay. */
export interface BackoffPolicy {
  /** ms before the first retry */
  minDelay: number
  /** ms cap on any wait */
  maxDelay: number
  /** growth of the wait per consecutive failure, >= 1 */
  factor: number
  /** share of the wait that is random, 0 to 1: the wait is `d * (1 - jitter * random())` */
  jitter: number
}

/** The wait before attempt `attempt` (1 for the first retry) before jitter: exponential, capped. */
export function backoffCeiling (attempt: number, b: BackoffPolicy): number {
  // after enough failures the power overflows to Infinity: the cap applies, and a zero minDelay
  // stays zero (0 * Infinity would be NaN)
  if (b.minDelay === 0) return 0
  return Math.min(b.maxDelay, b.minDelay * Math.pow(b.factor, Math.max(0, attempt - 1)))
}

/**
 * The wait before attempt `attempt`, with part of it random so that peers dropped together (the
 * clients of a restarted server, the processes of a restarted Redis) do not all come back in the
 * same instant.
 */
export function backoffDelay (attempt: number, b: BackoffPolicy, random: () => number = Math.random): number {
  return Math.round(backoffCeiling(attempt, b) * (1 - b.jitter * random()))
}
