// Protocol constants in one place (RFC 6455 section 5.2, section 7.4, section 11.8).

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11' // section 1.3

export const OPCODE_CONTINUATION = 0x0
export const OPCODE_TEXT = 0x1
export const OPCODE_BINARY = 0x2
export const OPCODE_CLOSE = 0x8
export const OPCODE_PING = 0x9
export const OPCODE_PONG = 0xa

export const FIN_BIT = 0x80
export const RSV1_BIT = 0x40
export const RSV2_BIT = 0x20
export const RSV3_BIT = 0x10
export const MASK_BIT = 0x80

/** Section 5.5: all control frames MUST have a payload length of 125 bytes or less. */
export const MAX_CONTROL_PAYLOAD = 125
/** Section 5.5.1: a close reason fits in the 125-byte control payload after the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123

/** 7-bit length values that announce the 16-bit and 64-bit extended lengths (section 5.2). */
export const LENGTH_16 = 126
export const LENGTH_64 = 127

export const CLOSE_NORMAL = 1000
export const CLOSE_GOING_AWAY = 1001
export const CLOSE_PROTOCOL_ERROR = 1002
export const CLOSE_UNSUPPORTED_DATA = 1003
export const CLOSE_NO_STATUS = 1005
export const CLOSE_ABNORMAL = 1006
export const CLOSE_INVALID_PAYLOAD = 1007
export const CLOSE_POLICY_VIOLATION = 1008
export const CLOSE_MESSAGE_TOO_BIG = 1009
export const CLOSE_MANDATORY_EXTENSION = 1010
export const CLOSE_INTERNAL_ERROR = 1011

export type Role = 'server' | 'client'

/** Connection states, numbered as the WebSocket API's readyState. */
export const CONNECTING = 0
export const OPEN = 1
export const CLOSING = 2
export const CLOSED = 3
export type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED

export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024
export const DEFAULT_CLOSE_TIMEOUT = 5_000
