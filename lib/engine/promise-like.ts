// Whether a value returned by user code (a handler, a hook, a policy) is a promise to wait on or
// to watch for a rejection. One check for every layer that calls user code, so that all accept
// the same things: any thenable (a promise from another realm or library too), never null.
// It sits in the engine only because the engine is the layer every other may import; it does
// no I/O.

/** True when `value` is an object or function with a `then` method (Promises/A+ section 1.2). */
export function isPromiseLike (value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
}
