// The EventTarget half of the socket, as ws offers it for browser-style code: addEventListener /
// removeEventListener with MessageEvent, CloseEvent and ErrorEvent objects, and the
// onopen/onmessage/onclose/onerror attributes. Listeners sit on the EventEmitter underneath,
// wrapped once; the wrapper remembers what it wraps so that removal finds it.
import type { EventEmitter } from 'node:events'

export type EventTargetType = 'open' | 'message' | 'close' | 'error'

/** How binary messages reach 'message' listeners (ws's binaryType). */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments'

/** A binary message as `binaryType` says: the whole message arrives as one piece here. */
export function toBinaryType (data: Buffer, type: BinaryType): Buffer | ArrayBuffer | Buffer[] {
  if (type === 'fragments') return [data]
  if (type === 'arraybuffer') {
    // a copy: the Buffer may be a view into a larger pooled allocation
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
  }
  return data
}

/** A plain event ('open'). */
export class WsEvent {
  readonly type: string
  /** the socket */
  readonly target: unknown
  constructor (type: string, target: unknown) {
    this.type = type
    this.target = target
  }
}

export class MessageEvent extends WsEvent {
  /** a string for a text message; for a binary one, as the socket's binaryType says */
  readonly data: string | Buffer | ArrayBuffer | Buffer[]
  constructor (target: unknown, data: string | Buffer | ArrayBuffer | Buffer[]) {
    super('message', target)
    this.data = data
  }
}

export class CloseEvent extends WsEvent {
  readonly code: number
  readonly reason: string
  /** the closing handshake completed (a close frame came back): not a 1006 */
  readonly wasClean: boolean
  constructor (target: unknown, code: number, reason: string) {
    super('close', target)
    this.code = code
    this.reason = reason
    this.wasClean = code !== 1006
  }
}

export class ErrorEvent extends WsEvent {
  readonly error: unknown
  readonly message: string
  constructor (target: unknown, error: unknown) {
    super('error', target)
    this.error = error
    this.message = error instanceof Error ? error.message : String(error)
  }
}

/** The events of the EventTarget interface and the objects their listeners get. */
export interface EventTargetEvents {
  open: WsEvent
  message: MessageEvent
  close: CloseEvent
  error: ErrorEvent
}

export type EventListenerFn<K extends EventTargetType> = ((event: EventTargetEvents[K]) => void) | { handleEvent (event: EventTargetEvents[K]): void }

const kListener = Symbol('fastify-rfc6455.listener')
const kAttribute = Symbol('fastify-rfc6455.attribute')

type Wrapped = ((...args: unknown[]) => void) & { [kListener]?: unknown, [kAttribute]?: boolean }

function wrap (target: EventEmitter, type: EventTargetType, listener: EventListenerFn<EventTargetType>): Wrapped {
  const call = (event: WsEvent): void => {
    if (typeof listener === 'function') (listener as (e: WsEvent) => void).call(target, event)
    else (listener as { handleEvent (e: WsEvent): void }).handleEvent(event)
  }
  switch (type) {
    case 'message':
      // ws gives text messages to event listeners as strings, binary ones as they are
      return (data: unknown, isBinary: unknown) => call(new MessageEvent(target, isBinary === true ? data as Buffer : String(data)))
    case 'close':
      return (code: unknown, reason: unknown) => call(new CloseEvent(target, code as number, String(reason)))
    case 'error':
      return (error: unknown) => call(new ErrorEvent(target, error))
    default:
      return () => call(new WsEvent(type, target))
  }
}

/** Add `listener` for `type` unless it is already there (as an EventTarget does). */
export function addEventListener (target: EventEmitter, type: EventTargetType, listener: EventListenerFn<EventTargetType>,
  options?: { once?: boolean }, attribute = false): void {
  if (type !== 'open' && type !== 'message' && type !== 'close' && type !== 'error') return
  if (typeof listener !== 'function' && (typeof listener !== 'object' || listener === null)) return
  if (!attribute) {
    for (const existing of target.rawListeners(type) as Wrapped[]) {
      if (existing[kListener] === listener && existing[kAttribute] !== true) return
    }
  }
  const wrapped = wrap(target, type, listener)
  wrapped[kListener] = listener
  wrapped[kAttribute] = attribute
  if (options?.once === true) target.once(type, wrapped)
  else target.on(type, wrapped)
}

export function removeEventListener (target: EventEmitter, type: string, listener: unknown): void {
  for (const existing of target.rawListeners(type) as Wrapped[]) {
    // a `once` wrapper keeps the function it wraps in `.listener`
    const inner = (existing as Wrapped & { listener?: Wrapped }).listener ?? existing
    if (inner[kListener] === listener && inner[kAttribute] !== true) {
      target.removeListener(type, existing as (...args: unknown[]) => void)
      return
    }
  }
}

/** The function set as `on<type>`, or null. */
export function getAttribute (target: EventEmitter, type: EventTargetType): unknown {
  for (const existing of target.rawListeners(type) as Wrapped[]) {
    if (existing[kAttribute] === true) return existing[kListener]
  }
  return null
}

/** Set `on<type>`: replaces the previous one; anything but a function clears it. */
export function setAttribute (target: EventEmitter, type: EventTargetType, handler: unknown): void {
  for (const existing of target.rawListeners(type) as Wrapped[]) {
    if (existing[kAttribute] === true) {
      target.removeListener(type, existing as (...args: unknown[]) => void)
      break
    }
  }
  if (typeof handler === 'function') addEventListener(target, type, handler as EventListenerFn<EventTargetType>, undefined, true)
}
