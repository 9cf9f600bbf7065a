// What the cluster adapter's two sides (cluster.ts in the workers, cluster-primary.ts in the
// primary) say to each other over node:cluster's IPC channels, and the bounded sender both use.
//
// Messages are plain objects marked with the TAG key, so that they are told apart from the
// application's own IPC messages (which travel on the same channels):
//   worker -> primary   { TAG: 'sub' | 'unsub', topic }
//                       { TAG: 'pub', topic, data, binary, origin, except }
//   primary -> worker   { TAG: 'msg', topic, data, binary, origin, except, seq }
// `data` is a Uint8Array on a channel with `serialization: 'advanced'` (the structured clone
// carries the bytes as they are) and a base64 string on a 'json' channel (Node's default, where a
// Buffer would become an array of numbers). `seq` numbers a topic's messages in the order the
// primary relayed them, which every worker receives them in.
import { wsError } from '../errors'

export const TAG = 'fastify-rfc6455:pubsub'

export interface IpcPublish {
  [TAG]: 'pub' | 'msg'
  topic: string
  data: Uint8Array | string
  binary: boolean
  origin: string
  except: string | null
  seq?: number
}

export interface IpcSubscription {
  [TAG]: 'sub' | 'unsub'
  topic: string
  /** the worker's channel carries data as base64 (a 'json' channel) */
  base64: boolean
}

export type IpcMessage = IpcPublish | IpcSubscription

/** What the adapter logs: a pino logger (`app.log`) fits. */
export interface ClusterLogger {
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export const warningLogger: ClusterLogger = {
  warn (obj, msg) { emitWarning(obj, msg) },
  error (obj, msg) { emitWarning(obj, msg) }
}

function emitWarning (obj: object, msg: string): void {
  const err = (obj as { err?: unknown }).err
  process.emitWarning(err instanceof Error ? `${msg}: ${err.message}` : msg, 'ClusterAdapterWarning')
}

/** Unsent IPC bytes one side holds for the other before it drops publishes (16 MiB). */
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024

/** Whether this process's IPC channel is a 'json' one (Node sets the variable in every child it forks). */
export function channelIsJson (): boolean {
  return process.env.NODE_CHANNEL_SERIALIZATION_MODE !== 'advanced'
}

/** A message's data as it travels on a channel of either kind. */
export function encodeData (data: Buffer, base64: boolean): Uint8Array | string {
  return base64 ? data.toString('base64') : data
}

/** The data of a message that came over a channel of either kind, or null if it is not data. */
export function decodeData (data: unknown): Buffer | null {
  if (typeof data === 'string') return Buffer.from(data, 'base64')
  if (data instanceof Uint8Array) return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return null
}

/** The data's size in bytes without decoding it (base64: 3 bytes per 4 characters). */
export function dataBytes (data: Uint8Array | string): number {
  return typeof data === 'string' ? Math.floor(data.length * 3 / 4) : data.byteLength
}

/** Whether `value` is a well-formed publish of ours (anything may arrive on a shared channel). */
export function isPublish (value: unknown, kind: 'pub' | 'msg'): value is IpcPublish {
  const m = value as IpcPublish | null
  return typeof m === 'object' && m !== null && m[TAG] === kind && typeof m.topic === 'string' &&
    (typeof m.data === 'string' || m.data instanceof Uint8Array) && typeof m.binary === 'boolean' &&
    typeof m.origin === 'string' && (m.except === null || typeof m.except === 'string')
}

export function isSubscription (value: unknown): value is IpcSubscription {
  const m = value as IpcSubscription | null
  return typeof m === 'object' && m !== null && (m[TAG] === 'sub' || m[TAG] === 'unsub') && typeof m.topic === 'string'
}

/** Node's send(): false once the channel holds a backlog (128 KiB unwritten in Node 20 to 26) or is closed. */
export type SendFunction = (message: IpcMessage, callback: (err: Error | null) => void) => boolean | undefined

/**
 * A sender that knows how many bytes it handed to an IPC channel that are not written yet: Node
 * queues whatever send() is given, without a limit, while the other side does not read (a busy
 * or stuck process). Past `maxBytes` publishes are dropped instead (counted, for the caller to
 * log); subscriptions always go. Node calls each send's callback once, in order, when its message
 * is written or has failed, so one callback per channel and a queue of sizes do the accounting.
 * Those callbacks come a tick late even for messages written at once, so a burst relayed in one
 * tick looks queued: drops start only once send() has also said the channel holds a backlog.
 */
export class Outbox {
  queued = 0
  /** publishes dropped since the last one that went out */
  dropped = 0
  private sizes: number[] = []
  private head = 0
  private readonly sendFn: SendFunction
  private readonly maxBytes: number
  private readonly onSent: (err: Error | null) => void
  /** the last send() said the channel holds a backlog */
  private backlogged = false

  constructor (send: SendFunction, maxBytes: number) {
    this.sendFn = send
    this.maxBytes = maxBytes
    this.onSent = () => {
      this.queued -= this.sizes[this.head++]
      if (this.head === this.sizes.length) {
        this.sizes = []
        this.head = 0
      }
    }
  }

  /** Hand `message` to the channel; false when it was dropped (over the bound) or the channel is closed. */
  send (message: IpcMessage, bytes: number, always = false): boolean {
    // one message larger than the bound still goes when nothing waits: maxMessageBytes bounds it
    if (!always && this.backlogged && this.queued > 0 && this.queued + bytes > this.maxBytes) {
      this.dropped++
      return false
    }
    this.sizes.push(bytes)
    this.queued += bytes
    try {
      this.backlogged = this.sendFn(message, this.onSent) === false
    } catch {
      // a channel closed under us (its callback is not called then)
      this.sizes.pop()
      this.queued -= bytes
      return false
    }
    return true
  }
}

export function tooBig (bytes: number, max: number): Error {
  return wsError('WS_ERR_CLUSTER_MESSAGE_TOO_BIG', `${bytes} bytes, at most ${max}`)
}

export function backlogError (dropped: number, queued: number): Error {
  return wsError('WS_ERR_CLUSTER_BACKLOG', `${dropped} publish(es) dropped with ${queued} bytes unsent`)
}
