// The checks every option of this package goes through (the plugin's, the routes', the client's,
// permessage-deflate's, the Redis adapter's, reconnect's): a value left out takes its default,
// a value of the wrong kind or out of range throws WS_ERR_INVALID_OPTION naming the option, what
// it must be and what it got. One set, so that every option is refused the same way. It sits in
// the engine because the engine's own options (deflate-options.ts) use it and every layer may
// import the engine; it does no I/O.
import { wsError, type WebSocketError } from '../errors'

/** The error for an option this package cannot accept; `detail` names it and says why. */
export function invalidOption (detail: string): WebSocketError {
  return wsError('WS_ERR_INVALID_OPTION', detail)
}

/** `value`, or `fallback` when it is undefined; else WS_ERR_INVALID_OPTION saying `name` must be `what`. */
function checked<F> (name: string, value: unknown, fallback: F, ok: (n: number) => boolean, what: string): number | F {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) {
    throw invalidOption(`${name} must be ${what}, got ${String(value)}`)
  }
  return value
}

function range (min: number, max: number): string {
  return max === Infinity || max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
}

/** A finite number above 0 (ms, bytes). */
export function positive<F extends number | undefined> (name: string, value: unknown, fallback: F): number | F {
  return checked(name, value, fallback, n => n > 0 && Number.isFinite(n), 'a positive number')
}

/** A finite number from `min` to `max` (`max` Infinity: no upper bound). */
export function numberIn<F extends number | undefined> (name: string, value: unknown, min: number, max: number, fallback: F): number | F {
  return checked(name, value, fallback, n => n >= min && n <= max && Number.isFinite(n), `a number ${range(min, max)}`)
}

/** A safe integer from `min` to `max` (`max` Number.MAX_SAFE_INTEGER: no upper bound). */
export function integerIn<F extends number | undefined> (name: string, value: unknown, min: number, max: number, fallback: F): number | F {
  return checked(name, value, fallback, n => Number.isSafeInteger(n) && n >= min && n <= max, `an integer ${range(min, max)}`)
}

/** A count where 0 means no limit. */
export function count<F extends number | undefined> (name: string, value: unknown, fallback: F): number | F {
  return checked(name, value, fallback, n => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer (0: no limit)')
}

/** true or false. */
export function flag<F extends boolean | undefined> (name: string, value: unknown, fallback: F): boolean | F {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalidOption(`${name} must be a boolean, got ${String(value)}`)
  return value
}
