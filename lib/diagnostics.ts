// diagnostics_channel events (issue 14), named in undici's style (`undici:websocket:open`):
// `fastify-rfc6455:<event>`. Subscribe with node:diagnostics_channel; nothing here is a
// dependency. Events of a connection's life and faults are rare (once per connection or per
// fault) and published whenever someone subscribes; the per-message channels are checked with
// `hasSubscribers` first, so that without a subscriber a message costs one property read.
import { channel, type Channel } from 'node:diagnostics_channel'
import type { IncomingMessage } from 'node:http'
import type { WebSocket } from './socket'
import type { WebSocketError } from './errors'

/** The channel names (`diagnostics_channel.subscribe(diagnosticsChannels.open, fn)`). */
export const diagnosticsChannels = {
  handshakeRefused: 'fastify-rfc6455:handshake:refused',
  open: 'fastify-rfc6455:open',
  close: 'fastify-rfc6455:close',
  protocolError: 'fastify-rfc6455:protocol-error',
  backpressure: 'fastify-rfc6455:backpressure',
  heartbeatTimeout: 'fastify-rfc6455:heartbeat-timeout',
  memoryLimit: 'fastify-rfc6455:memory-limit',
  adapterUp: 'fastify-rfc6455:adapter:up',
  adapterDown: 'fastify-rfc6455:adapter:down',
  messageIn: 'fastify-rfc6455:message:in',
  messageOut: 'fastify-rfc6455:message:out'
} as const

/** An upgrade request was refused with an HTTP response (or closed by the handshake timeout). */
export interface HandshakeRefusedMessage {
  request: IncomingMessage
  /** the HTTP status of the refusal */
  status: number
  /** the WS_ERR_* (or other) error code of the refusal, null when a hook replied without an error */
  code: string | null
  /** the route's URL pattern, null when no route matched (404) or it was not reached */
  route: string | null
  /** when the upgrade request arrived (performance.timeOrigin + performance.now() ms), for a handshake span */
  handshakeStart: number
}

/** A server socket opened: the 101 is written. */
export interface OpenMessage {
  socket: WebSocket
  request: IncomingMessage
  route: string
  /** the subprotocol selected, '' for none */
  protocol: string
  /** the Sec-WebSocket-Extensions agreed, '' for none */
  extensions: string
  /** when the upgrade request arrived (performance.timeOrigin + performance.now() ms), for a handshake span */
  handshakeStart: number
}

/** A socket closed (server and client sockets alike); published before 'close' reaches listeners. */
export interface CloseMessage {
  socket: WebSocket
  /** the route's URL pattern; null for a client socket */
  route: string | null
  /** the code reported to the application: the peer's, 1005 for a close frame without one, 1006 for none */
  code: number
  reason: string
  /** the code we sent in our close frame (1005: one without a code), 0 when we sent none */
  codeSent: number
  /** who started the close: 'local' (close(), terminate(), a failure we detected) or 'peer' (its close frame, or the transport ending) */
  closedBy: 'local' | 'peer'
  /** ms from open to close */
  durationMs: number
  /** transport bytes each way */
  bytesIn: number
  bytesOut: number
}

/** The connection failed: a protocol error, a limit, a timeout (the close frame, if any, is queued). */
export interface ProtocolErrorMessage {
  socket: WebSocket
  error: WebSocketError
  /** the WS_ERR_* code */
  code: string
  /** the close code sent for it (1006: none sent, the transport is dropped) */
  closeCode: number | undefined
}

/** A send went past maxBackpressure: the policy was applied. */
export interface BackpressureMessage {
  socket: WebSocket
  /** 'drop': the message was dropped; 'close': the connection is failed with 1008 */
  policy: 'drop' | 'close'
  bufferedAmount: number
  maxBackpressure: number
}

/** The peer answered no heartbeat ping within pongTimeout: the connection is dropped. */
export interface HeartbeatTimeoutMessage {
  socket: WebSocket
  /** round-trip time of the last answered ping, -1 if none was */
  latency: number
}

/** The memoryBudget is exhausted: this socket, the largest holder, is closed with 1013. */
export interface MemoryLimitMessage {
  socket: WebSocket
  /** what this socket held */
  heldBytes: number
  /** what every socket held together */
  totalBytes: number
  /** the memoryBudget */
  maxBytes: number
}

/** The pub/sub adapter's connection came up or went down. */
export interface AdapterMessage {
  /** the adapter's name ('redis') */
  adapter: string
  /** which of its connections ('publisher', 'subscriber') */
  role: string
  /** why it went down (adapter:down only) */
  error?: Error
}

/** A data message received or queued to send (per-message channels: published only while subscribed). */
export interface MessageMessage {
  socket: WebSocket
  /** the payload; a broadcast frame (publish) is reported as the whole frame */
  data: Uint8Array
  isBinary: boolean
}

/** @internal the channels, made once */
export const handshakeRefused: Channel = channel(diagnosticsChannels.handshakeRefused)
export const openChannel: Channel = channel(diagnosticsChannels.open)
export const closeChannel: Channel = channel(diagnosticsChannels.close)
export const protocolError: Channel = channel(diagnosticsChannels.protocolError)
export const backpressure: Channel = channel(diagnosticsChannels.backpressure)
export const heartbeatTimeout: Channel = channel(diagnosticsChannels.heartbeatTimeout)
export const memoryLimit: Channel = channel(diagnosticsChannels.memoryLimit)
export const adapterUp: Channel = channel(diagnosticsChannels.adapterUp)
export const adapterDown: Channel = channel(diagnosticsChannels.adapterDown)
export const messageIn: Channel = channel(diagnosticsChannels.messageIn)
export const messageOut: Channel = channel(diagnosticsChannels.messageOut)

/** @internal publish `message` on `ch` if anyone listens (type-checked against the channel's shape) */
export function publish<T extends object> (ch: Channel, message: T): void {
  if (ch.hasSubscribers) ch.publish(message)
}
