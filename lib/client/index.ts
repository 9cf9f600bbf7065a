// fastify-rfc6455/client: open WebSockets to any RFC 6455 server with the same engine and the
// same WebSocket class as the plugin's server sockets.
export { connect } from './connect'
export { ReconnectingWebSocket, connectWithRetry, type ReconnectingOptions, type ReconnectingWebSocketEvents, type ResumedMessage } from './reconnect'
export { backoffDelay, isRetryable, type ReconnectOptions } from './backoff'
export type { ClientOptions, ClientTlsOptions } from './options'
export { isHandshakeRefusal, type HandshakeRefusal } from './refusal'
export type { ClientExtensions, ClientExtensionAgreement } from '../handshake/client-extensions'
export { WebSocket, WebSocketError } from '../socket'
export type { SendOptions, SendCallback, WebSocketData, Logger } from '../socket'
export type { WebSocketSocketStats } from '../stats'
