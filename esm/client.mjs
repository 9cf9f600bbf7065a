// ESM entry of the client: `import { connect } from 'fastify-rfc6455/client'`.
import mod from '../dist/client/index.js'
export const { connect, connectWithRetry, ReconnectingWebSocket, backoffDelay, isRetryable, isHandshakeRefusal, WebSocket, WebSocketError } = mod
