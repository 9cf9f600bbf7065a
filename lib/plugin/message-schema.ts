// Route message schemas: `websocket: { schema: { message, send } }`. A text message is parsed as
// JSON and validated with the route's validator compiler (Fastify's ajv unless the app or the
// route set another), a value given to `socket.send()` serialized with its serializer compiler
// (fast-json-stringify unless set otherwise). Both are compiled once per route: at `onReady`
// when Fastify has a compiler for the route then, else (Fastify builds its default ajv lazily)
// at the route's first upgrade, through the request's and reply's public compile methods.
import type {
  FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler, FastifySerializerCompiler, FastifyTypeProvider
} from 'fastify'
import { wsError, type WebSocketError } from '../errors'
import { OPEN } from '../engine/constants'
import { isPromiseLike } from '../engine/promise-like'
import { kRejected } from '../symbols'
import type { MessageCodec, SocketContext, WebSocket, WebSocketData, SendOptions, SendCallback, WebSocketEventListeners } from '../socket'

/** The schemas of a route's messages: JSON Schemas, or schemas of the route's type provider (TypeBox...). */
export interface WebSocketMessageSchema {
  /** what a text message from the peer must be, once parsed as JSON */
  message?: unknown
  /** what `socket.send(value)` sends: serialized against it (validated too with `validateSend`) */
  send?: unknown
}

/** The keys of a route's `websocket` object this module reads. */
export interface MessageSchemaOptions {
  schema?: WebSocketMessageSchema
  validateSend?: boolean
  invalidMessage? (socket: WebSocket, error: WebSocketError, raw: Buffer): unknown
  binary? (socket: WebSocket, data: Buffer): unknown
}

// ---- types: what the route's type provider makes of its schemas ----

// as Fastify's CallValidatorTypeProvider / CallSerializerTypeProvider (not exported from its entry point)
type Validated<TP extends FastifyTypeProvider, S> = (TP & { schema: S })['validator']
type Serialized<TP extends FastifyTypeProvider, S> = (TP & { schema: S })['serializer']

/** A text message's value on a route with `schema` (unknown without a type provider), or Buffer on a route without. */
export type MessageOf<TP extends FastifyTypeProvider, S> = [S] extends [undefined]
  ? Buffer
  : S extends { message: infer M } ? Validated<TP, M> : unknown

/** What `send()` takes besides strings and binary data on a route with `schema.send`. */
export type SendOf<TP extends FastifyTypeProvider, S> = S extends { send: infer O } ? Serialized<TP, O> : unknown

/** The message handler's arguments: on a route with a schema only text arrives there, as its value (binary goes to `binary`). */
export type MessageArgs<In> = [In] extends [Buffer] ? [data: Buffer, isBinary: boolean] : [data: In, isBinary: false]

/** A 'message' listener's arguments: on a route with a schema, text as its value and binary untouched; checking `isBinary` narrows `data`. */
export type MessageListenerArgs<In> = [In] extends [Buffer]
  ? [data: Buffer, isBinary: boolean]
  : [data: In, isBinary: false] | [data: Buffer, isBinary: true]

type AnyListener = (...args: never[]) => void
type OtherEvents = Exclude<keyof WebSocketEventListeners, 'message'>

/** The socket of a route with message schemas: `send()` takes `Out` values, 'message' listeners get `In`. */
export interface SchemaWebSocket<In = unknown, Out = unknown> extends WebSocket {
  send (data: Out | WebSocketData, options?: SendOptions | SendCallback, cb?: SendCallback): boolean
  on (event: 'message', listener: (...args: MessageListenerArgs<In>) => void): this
  on<E extends OtherEvents> (event: E, listener: WebSocketEventListeners[E]): this
  on (event: string | symbol, listener: AnyListener): this
  once (event: 'message', listener: (...args: MessageListenerArgs<In>) => void): this
  once<E extends OtherEvents> (event: E, listener: WebSocketEventListeners[E]): this
  once (event: string | symbol, listener: AnyListener): this
  addListener (event: 'message', listener: (...args: MessageListenerArgs<In>) => void): this
  addListener<E extends OtherEvents> (event: E, listener: WebSocketEventListeners[E]): this
  addListener (event: string | symbol, listener: AnyListener): this
}

/** The socket handlers get: WebSocket, or a SchemaWebSocket typed by the schemas. */
export type SocketOf<TP extends FastifyTypeProvider, S> = [S] extends [undefined] ? WebSocket : SchemaWebSocket<MessageOf<TP, S>, SendOf<TP, S>>

/** What a compiled validator may be (Fastify's contract: ajv's boolean and `errors`, or `{ value }` / `{ error }`). */
type Validate = ReturnType<FastifySchemaCompiler<unknown>> & { schemaEnv?: unknown }
type Serialize = (value: unknown) => string

/** The route the schemas belong to, as the compilers are told. */
interface RouteInfo { url: string, validatorCompiler?: unknown, serializerCompiler?: unknown }

/** Check the shape of a route's message schema options at registration; null when the route has none. */
export function planMessageSchema (spec: MessageSchemaOptions, url: string): RouteCodec | null {
  const schema = spec.schema
  if (schema === undefined) {
    if (spec.validateSend !== undefined || spec.invalidMessage !== undefined || spec.binary !== undefined) {
      throw wsError('WS_ERR_INVALID_OPTION', `validateSend, invalidMessage and binary on ${url} need websocket.schema (without it, message gets binary messages)`)
    }
    return null
  }
  if (typeof schema !== 'object' || schema === null) throw wsError('WS_ERR_INVALID_OPTION', `websocket.schema on ${url} must be an object { message, send }`)
  for (const key of Object.keys(schema)) {
    if (key !== 'message' && key !== 'send') throw wsError('WS_ERR_INVALID_OPTION', `unknown key "${key}" in websocket.schema of ${url}: message, send`)
  }
  for (const key of ['message', 'send'] as const) {
    const s = schema[key]
    if (s !== undefined && typeof s !== 'boolean' && (typeof s !== 'object' || s === null)) {
      throw wsError('WS_ERR_INVALID_OPTION', `websocket.schema.${key} on ${url} must be a schema object`)
    }
  }
  for (const key of ['invalidMessage', 'binary'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'function') throw wsError('WS_ERR_INVALID_OPTION', `${key} on ${url} must be a function`)
  }
  return new RouteCodec(schema, spec.validateSend === true, spec.invalidMessage, spec.binary)
}

/**
 * A route's codec, set on its SocketContext, or null without `websocket.schema`. Compiled once:
 * at onReady if Fastify has the route's compilers by then, else at the route's first upgrade.
 */
export function attachMessageSchema (fastify: FastifyInstance, spec: MessageSchemaOptions, route: RouteInfo, ctx: SocketContext): RouteCodec | null {
  const codec = planMessageSchema(spec, route.url)
  if (codec === null) return null
  ctx.codec = codec
  codec.ctx = ctx
  const info: RouteInfo = { url: route.url, validatorCompiler: route.validatorCompiler, serializerCompiler: route.serializerCompiler }
  fastify.addHook('onReady', async function (this: FastifyInstance) { codec.compileEarly(this, info) })
  return codec
}

// one holder for every validation: ajv may replace a root value (coerceTypes, defaults) only
// through its parent; validation is synchronous, so one object serves every call
const holder: { value: unknown } = { value: undefined }
const PARENT = { parentData: holder, parentDataProperty: 'value' }

/** What `check` returns for a value that failed; the error text is in `failure.error`. */
const FAILED = Symbol('failed')
const failure = { error: '' }

/**
 * Run a Fastify validator: the (possibly coerced or replaced) value, or FAILED with the error
 * text in `failure.error`. Allocates nothing on the way through (one call per message).
 */
function check (validate: Validate, value: unknown): unknown {
  let ret
  if (validate.schemaEnv !== undefined) {
    // ajv: it may replace a root value only through its parent
    holder.value = value
    ret = (validate as (data: unknown, ctx: unknown) => unknown)(value, PARENT) as ReturnType<Validate>
    value = holder.value
    holder.value = undefined
  } else {
    ret = validate(value)
  }
  if (ret === true) return value
  if (ret === false) {
    failure.error = describe(validate.errors)
    return FAILED
  }
  if (isPromiseLike(ret)) throw wsError('WS_ERR_INVALID_OPTION', 'asynchronous validators ($async schemas) are not supported for WebSocket messages')
  if (typeof ret === 'object' && ret !== null) {
    if (ret.error !== undefined && ret.error !== null) {
      failure.error = describe(ret.error)
      return FAILED
    }
    if ('value' in ret) value = ret.value
  }
  return value
}

/** The first validation error, as Fastify words a body's (`message/text must be string`). */
function describe (errors: unknown): string {
  const first: unknown = Array.isArray(errors) ? errors[0] : errors
  if (first instanceof Error) return first.message
  if (typeof first === 'object' && first !== null) {
    const e = first as { instancePath?: unknown, message?: unknown }
    return `message${typeof e.instancePath === 'string' ? e.instancePath : ''} ${typeof e.message === 'string' ? e.message : 'is invalid'}`
  }
  return 'message does not match the schema'
}

/** RFC 6455 section 5.5: a close frame's body is at most 125 bytes, 2 of them the code; its reason is UTF-8 (section 5.5.1). */
export function closeReason (text: string): string {
  const bytes = Buffer.from(text)
  if (bytes.length <= 123) return text
  // cut before the code point that would straddle byte 123: back up over continuation bytes (10xxxxxx)
  let end = 123
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString()
}

export class RouteCodec implements MessageCodec {
  private validate: Validate | null = null
  private validateOut: Validate | null = null
  private serialize: Serialize | null = null
  private compiled = false
  /** the route's SocketContext, for errors (set when the route's context is built) */
  ctx: SocketContext | null = null

  constructor (private readonly schema: WebSocketMessageSchema, private readonly validateSend: boolean,
    private readonly invalidMessage: MessageSchemaOptions['invalidMessage'], private readonly onBinary: MessageSchemaOptions['binary']) {}

  /** Compile with the compilers Fastify has for the route now (at onReady); false when one is not built yet. */
  compileEarly (fastify: FastifyInstance, route: RouteInfo): boolean {
    if (this.compiled) return true
    const validator = (route.validatorCompiler ?? fastify.validatorCompiler) as FastifySchemaCompiler<unknown> | undefined
    const serializer = (route.serializerCompiler ?? fastify.serializerCompiler) as FastifySerializerCompiler<unknown> | undefined
    const needsValidator = this.schema.message !== undefined || (this.validateSend && this.schema.send !== undefined)
    if ((needsValidator && validator === undefined) || (this.schema.send !== undefined && serializer === undefined)) return false
    this.build(
      schema => validator!({ schema, method: 'GET', url: route.url, httpPart: 'body' }),
      schema => serializer!({ schema, method: 'GET', url: route.url }))
    return true
  }

  /** At the route's first upgrade: Fastify's own compile methods, which build its default compilers if needed. */
  compileLate (request: FastifyRequest, reply: FastifyReply): void {
    if (this.compiled) return
    this.build(
      schema => request.compileValidationSchema(schema as Record<string, unknown>, 'body') as Validate,
      schema => reply.compileSerializationSchema(schema as Record<string, unknown>) as Serialize)
  }

  private build (validator: (schema: unknown) => Validate, serializer: (schema: unknown) => Serialize): void {
    const { message, send } = this.schema
    this.validate = message === undefined ? null : validator(message)
    this.serialize = send === undefined ? null : serializer(send)
    this.validateOut = send !== undefined && this.validateSend ? validator(send) : null
    this.compiled = true
  }

  decode (socket: WebSocket, data: Buffer): unknown {
    // after a close for an invalid message, the rest of what the peer sent is not delivered
    if (socket.readyState !== OPEN) return kRejected
    let value: unknown
    try {
      value = JSON.parse(data.toString())
    } catch (err) {
      return this.reject(socket, wsError('WS_ERR_MESSAGE_NOT_JSON', undefined, err), 'message is not JSON', data)
    }
    if (this.validate === null) return value
    value = check(this.validate, value)
    if (value !== FAILED) return value
    return this.reject(socket, wsError('WS_ERR_MESSAGE_SCHEMA', failure.error), failure.error, data)
  }

  binary (socket: WebSocket, data: Buffer): unknown {
    if (socket.readyState !== OPEN) return kRejected
    const handler = this.onBinary
    if (handler !== undefined) {
      const result = handler(socket, data)
      if (isPromiseLike(result)) result.then(undefined, (err: unknown) => this.ctx?.onHandlerError(socket, err))
    } else if (socket.listenerCount('message') === 0) {
      // RFC 6455 section 7.4.1: 1003, data of a type the endpoint cannot accept (nobody here takes binary)
      const error = wsError('WS_ERR_MESSAGE_BINARY')
      socket.close(error.closeCode, 'binary messages not accepted')
      this.ctx?.onProtocolError(socket, error)
      return kRejected
    }
    return data
  }

  encode (value: unknown): string {
    if (this.validateOut !== null) {
      value = check(this.validateOut, value)
      if (value === FAILED) throw wsError('WS_ERR_SEND_SCHEMA', failure.error.replace(/^message/, 'value'))
    }
    let text: unknown
    try {
      text = this.serialize === null ? JSON.stringify(value) : this.serialize(value)
    } catch (err) {
      throw wsError('WS_ERR_SEND_SCHEMA', err instanceof Error ? err.message : String(err), err)
    }
    if (typeof text !== 'string') throw wsError('WS_ERR_SEND_SCHEMA', `${typeof value} has no JSON form`)
    return text
  }

  private reject (socket: WebSocket, error: WebSocketError, reason: string, raw: Buffer): typeof kRejected {
    const handler = this.invalidMessage
    if (handler !== undefined) {
      // the route decides: its handler's errors go where handler errors go
      const result = handler(socket, error, raw)
      if (isPromiseLike(result)) result.then(undefined, (err: unknown) => this.ctx?.onHandlerError(socket, err))
      return kRejected
    }
    // RFC 6455 section 7.4.1: 1007 for data inconsistent with the message's type, 1008 for a policy violation
    socket.close(error.closeCode, closeReason(reason))
    this.ctx?.onProtocolError(socket, error)
    return kRejected
  }
}
