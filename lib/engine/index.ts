// The I/O-free protocol engine: bytes in, events and bytes out. Server and client share it.
export { Connection, type ConnectionHost, type ConnectionOptions, type PingCallback } from './connection'
export { FrameParser, type FrameHandler, type ParserOptions } from './parser'
export { FrameWriter, buildFrame, writeHeader, headerLength } from './serializer'
export { applyMask } from './mask'
export { Utf8Validator, isValidUtf8 } from './utf8'
export { isValidCloseCode } from './close-codes'
export * from './constants'
