// ESM entry: `import websocket, { WebSocket } from 'fastify-rfc6455'`.
import mod from '../dist/index.js'
export default mod.default
export const {
  fastifyRfc6455, WebSocket, createWebSocketStream, WebSocketError, errorCodes, InjectRefusedError,
  memoryAdapter, MemoryAdapter, redisAdapter, RedisAdapter, RedisClientAdapter, clusterAdapter, ClusterAdapter, setupPrimary,
  fastifyWebsocket, WebSocketServer, MessageEvent, CloseEvent, ErrorEvent, WsEvent, diagnosticsChannels, prometheusText,
  PROMETHEUS_CONTENT_TYPE
} = mod
