// What every opening handshake of connect() arms and disarms, over HTTP/1.1 or HTTP/2: the
// caller's AbortSignal and the handshakeTimeout.
import { wsError } from '../errors'
import type { ResolvedClientOptions } from './options'

/**
 * Watch the signal and start the handshake timeout (WS_ERR_CLIENT_TIMEOUT through `fail`).
 * Null, with `reject` called with the signal's reason, when it has already aborted.
 */
export function armAttempt (settings: ResolvedClientOptions, onAbort: () => void, fail: (err: Error) => void,
  reject: (err: unknown) => void): NodeJS.Timeout | null {
  const signal = settings.signal
  if (signal?.aborted === true) {
    reject(signal.reason)
    return null
  }
  signal?.addEventListener('abort', onAbort)
  const ms = settings.handshakeTimeout
  return setTimeout(() => fail(wsError('WS_ERR_CLIENT_TIMEOUT', `not open after ${ms} ms`)), ms)
}

/** The attempt is over (open or failed): stop the timeout and stop watching the signal. */
export function disarmAttempt (settings: ResolvedClientOptions, timer: NodeJS.Timeout | null, onAbort: () => void): void {
  if (timer !== null) clearTimeout(timer)
  settings.signal?.removeEventListener('abort', onAbort)
}
