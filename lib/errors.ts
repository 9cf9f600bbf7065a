// Every error this library raises, declared once with a stable code (Fastify style).
// Protocol errors carry the close code the connection is failed with (RFC 6455 section 7.4.1).

export interface ErrorSpec {
  readonly message: string
  /** close code sent to the peer when this error fails an open connection */
  readonly closeCode?: number
  /** HTTP status when this error refuses a handshake */
  readonly statusCode?: number
}

const specs = {
  // framing (engine)
  WS_ERR_INVALID_OPCODE: { message: 'Invalid or reserved opcode', closeCode: 1002 },
  // ws's names for these two, so that code classifying errors by code ports
  WS_ERR_UNEXPECTED_RSV_1: { message: 'RSV1 set without permessage-deflate, or on a continuation or control frame', closeCode: 1002 },
  WS_ERR_UNEXPECTED_RSV_2_3: { message: 'RSV2 or RSV3 set: no negotiated extension defines them', closeCode: 1002 },
  WS_ERR_EXPECTED_MASK: { message: 'Frame from a client must be masked', closeCode: 1002 },
  WS_ERR_UNEXPECTED_MASK: { message: 'Frame from a server must not be masked', closeCode: 1002 },
  WS_ERR_INVALID_LENGTH: { message: 'Invalid payload length encoding', closeCode: 1002 },
  WS_ERR_CONTROL_TOO_LONG: { message: 'Control frame payload longer than 125 bytes', closeCode: 1002 },
  WS_ERR_FRAGMENTED_CONTROL: { message: 'Control frame must not be fragmented', closeCode: 1002 },
  WS_ERR_UNEXPECTED_CONTINUATION: { message: 'Continuation frame with no message to continue', closeCode: 1002 },
  WS_ERR_EXPECTED_CONTINUATION: { message: 'New data frame inside a fragmented message', closeCode: 1002 },
  WS_ERR_INVALID_CLOSE_PAYLOAD: { message: 'Close frame payload of length 1', closeCode: 1002 },
  WS_ERR_INVALID_CLOSE_CODE: { message: 'Close code not allowed on the wire', closeCode: 1002 },
  WS_ERR_INVALID_UTF8: { message: 'Invalid UTF-8 in a text message or close reason', closeCode: 1007 },
  WS_ERR_MESSAGE_TOO_BIG: { message: 'Message larger than maxPayload', closeCode: 1009 },
  WS_ERR_TOO_MANY_FRAGMENTS: { message: 'Message in more frames than maxFragments', closeCode: 1008 },
  WS_ERR_TOO_MANY_PINGS: { message: 'More unanswered pings than maxPendingAutoPongs while the peer does not read', closeCode: 1008 },
  WS_ERR_INFLATE: { message: 'Compressed message could not be inflated', closeCode: 1007 },
  WS_ERR_BACKPRESSURE: { message: 'Outgoing buffer exceeded maxBackpressure', closeCode: 1008 },
  WS_ERR_MEMORY_BUDGET: { message: 'The process-wide memory budget is exhausted', closeCode: 1013, statusCode: 503 },
  WS_ERR_HANDLER: { message: 'Error thrown by a WebSocket handler', closeCode: 1011 },
  WS_ERR_DEFLATE: { message: 'An outgoing message could not be compressed', closeCode: 1011 },
  WS_ERR_MESSAGE_NOT_JSON: { message: 'Text message is not JSON (a route with a message schema)', closeCode: 1007 },
  WS_ERR_MESSAGE_SCHEMA: { message: "Message does not match the route's schema", closeCode: 1008 },
  WS_ERR_MESSAGE_BINARY: { message: 'Binary message on a route with a message schema and no binary handler', closeCode: 1003 },
  WS_ERR_SEND_SCHEMA: { message: "Value could not be sent against the route's send schema" },

  // local API misuse
  WS_ERR_NOT_OPEN: { message: 'WebSocket is not open' },
  WS_ERR_INVALID_CLOSE_ARG: { message: 'Invalid close code or reason (code 1000-1003, 1007-1014 or 3000-4999, reason at most 123 bytes)' },
  WS_ERR_CONTROL_ARG_TOO_LONG: { message: 'Ping or pong payload longer than 125 bytes' },
  WS_ERR_INVALID_OPTION: { message: 'Invalid option' },
  WS_ERR_INVALID_HEADER: { message: 'Invalid HTTP header name or value (CR, LF or another forbidden character)' },
  WS_ERR_PING_TIMEOUT: { message: 'No pong received before the timeout', closeCode: 1006 },
  WS_ERR_CLOSE_TIMEOUT: { message: 'Peer did not complete the closing handshake in time', closeCode: 1006 },
  WS_ERR_CONNECTION_CLOSED: { message: 'Connection closed before the operation completed' },
  WS_ERR_PING_LIMIT: { message: 'Too many pings awaiting a pong' },
  WS_ERR_NO_PUBSUB: { message: 'Pub/sub is only available on sockets opened through the plugin' },
  WS_ERR_REDIS_CONNECT: { message: 'Could not connect to Redis (refused, timed out, or AUTH/SELECT failed)' },
  WS_ERR_REDIS_PROTOCOL: { message: 'Malformed reply from Redis' },
  WS_ERR_REDIS_REPLY_LIMIT: { message: 'Reply from Redis over a limit (maxReplyElements, maxReplyDepth, maxReplyBytes or a line over 64 KiB)' },
  WS_ERR_REDIS_MESSAGE_TOO_BIG: { message: 'Pub/sub message larger than maxMessageBytes (skipped when received, not published when sent)' },
  WS_ERR_REDIS_REPLY: { message: 'Redis answered a command with an error' },
  WS_ERR_RESUME_INVALID: { message: 'Resume query parameters malformed, repeated for a topic, or more than maxResumeTopics (each resumable topic starts with a gap)' },
  WS_ERR_RESUME_TOO_SLOW: { message: 'Live messages outgrew maxBackpressure while a replay was read (the socket is closed with 1013 to resume later)', closeCode: 1013 },
  WS_ERR_CLUSTER_MESSAGE_TOO_BIG: { message: 'Pub/sub message larger than maxMessageBytes (clusterAdapter: not published, relayed or delivered)' },
  WS_ERR_CLUSTER_BACKLOG: { message: 'Pub/sub messages dropped: more than maxQueueBytes waited unsent on the IPC channel to a busy worker or primary' },

  // handshake
  WS_ERR_HANDSHAKE_METHOD: { message: 'WebSocket handshake must be an HTTP/1.1 GET', statusCode: 400 },
  WS_ERR_HANDSHAKE_UPGRADE: { message: 'Missing or invalid Upgrade: websocket header', statusCode: 400 },
  WS_ERR_HANDSHAKE_CONNECTION: { message: 'Missing or invalid Connection: Upgrade header', statusCode: 400 },
  WS_ERR_HANDSHAKE_KEY: { message: 'Missing or invalid Sec-WebSocket-Key header', statusCode: 400 },
  WS_ERR_HANDSHAKE_VERSION: { message: 'Unsupported Sec-WebSocket-Version (only 13)', statusCode: 426 },
  WS_ERR_HANDSHAKE_ORIGIN: { message: 'Origin not allowed', statusCode: 403 },
  WS_ERR_HANDSHAKE_VERIFY: { message: 'verifyClient refused the connection', statusCode: 401 },
  WS_ERR_HANDSHAKE_PROTOCOL: { message: 'No acceptable subprotocol offered', statusCode: 400 },
  WS_ERR_HANDSHAKE_EXTENSION: { message: 'Malformed Sec-WebSocket-Extensions header', statusCode: 400 },
  WS_ERR_HANDSHAKE_TIMEOUT: { message: 'Handshake did not complete in time', statusCode: 503 },
  WS_ERR_NOT_WEBSOCKET_ROUTE: { message: 'Route does not accept WebSocket upgrades', statusCode: 404 },
  WS_ERR_UPGRADE_REQUIRED: { message: 'This route only accepts WebSocket upgrades', statusCode: 426 },
  WS_ERR_SHUTTING_DOWN: { message: 'Server is shutting down', statusCode: 503 },
  WS_ERR_HTTP2_SOCKETS: { message: 'Too many WebSockets on one HTTP/2 connection (maxHttp2WebSockets)', statusCode: 429 },

  // client
  WS_ERR_CLIENT_URL: { message: 'Invalid WebSocket URL' },
  WS_ERR_CLIENT_HANDSHAKE: { message: 'Server response is not a valid WebSocket handshake' },
  WS_ERR_CLIENT_REDIRECTS: { message: 'Too many redirects' },
  WS_ERR_CLIENT_EXTENSION: { message: 'Server answered with an extension or parameters the client did not offer or cannot accept', closeCode: 1010 },
  WS_ERR_CLIENT_TIMEOUT: { message: 'Opening handshake timed out' }
} as const satisfies Record<string, ErrorSpec>

export type WebSocketErrorCode = keyof typeof specs

/** All error codes, in declaration order (the README documents each one). */
export const errorCodes = Object.freeze(Object.keys(specs) as WebSocketErrorCode[])

export class WebSocketError extends Error {
  readonly code: WebSocketErrorCode
  /** close code this error fails the connection with, if it is a protocol error */
  readonly closeCode: number | undefined
  /** HTTP status this error refuses a handshake with, if it is a handshake error */
  readonly statusCode: number | undefined

  constructor (code: WebSocketErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec: ErrorSpec = specs[code]
    super(detail === undefined ? spec.message : `${spec.message}: ${detail}`, options)
    this.name = 'WebSocketError'
    this.code = code
    this.closeCode = spec.closeCode
    this.statusCode = spec.statusCode
  }
}

export function wsError (code: WebSocketErrorCode, detail?: string, cause?: unknown): WebSocketError {
  return new WebSocketError(code, detail, cause === undefined ? undefined : { cause })
}

export function errorSpec (code: WebSocketErrorCode): ErrorSpec {
  return specs[code]
}
