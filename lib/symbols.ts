// Private symbols shared by the socket layer's files (as Fastify keeps its own in lib/symbols.js):
// a symbol-keyed field is reachable by the library's modules and tests, yet sits outside the
// ws-compatible surface that users see and autocomplete.

/** The WebSocket's machinery (session.ts): stream, engine connection, reading, flushing, holding. */
export const kSession: unique symbol = Symbol('fastify-rfc6455.session')

/** On a stream: the Session that owns it, which the shared listeners (transport.ts) call. */
export const kStreamOwner: unique symbol = Symbol('fastify-rfc6455.streamOwner')

/** What a SocketContext's `codec.decode` returns for a message it dealt with itself (refused): nothing is delivered. */
export const kRejected: unique symbol = Symbol('fastify-rfc6455.rejected')
