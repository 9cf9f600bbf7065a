// The cluster pub/sub adapter: the workers of one node:cluster (one machine, every core) share
// topics through the primary, over the IPC channel each worker already has: no Redis. The pattern
// of Socket.IO's cluster adapter: a worker sends what is published in it to the primary, which
// relays it to every worker with a subscriber to the topic (see cluster-primary.ts, setupPrimary()).
//
// Every message goes through the primary, the publishing worker's own subscribers' included, so
// all workers receive a topic's messages in one order (the primary's) and the adapter behaves as
// redisAdapter does: `socket.publish` still skips the sender (Topics does). In a process that is
// not a cluster worker it delivers in that process, as memoryAdapter does.
//
// Bounded: a message larger than maxMessageBytes is neither sent nor delivered (logged with
// WS_ERR_CLUSTER_MESSAGE_TOO_BIG), and while the primary does not read, at most maxQueueBytes
// wait unsent; publishes past that are dropped (WS_ERR_CLUSTER_BACKLOG, logged when the streak
// starts and, with its count, when it ends).
import cluster from 'node:cluster'
import type { PubSubAdapter, AdapterContext, DeliverFunction, PublishedMessage } from './adapter'
import { integerIn } from '../engine/option-checks'
import { DEFAULT_MAX_PAYLOAD } from '../engine/constants'
import { wsError } from '../errors'
import {
  TAG, DEFAULT_MAX_QUEUE_BYTES, Outbox, backlogError, channelIsJson, decodeData, encodeData, isPublish, tooBig,
  warningLogger, type ClusterLogger, type IpcMessage
} from './cluster-ipc'

export type { ClusterLogger } from './cluster-ipc'

export interface ClusterAdapterOptions {
  /** largest message published or received, in bytes of data (default: the plugin's maxPayload) */
  maxMessageBytes?: number
  /** bytes handed to the IPC channel and not yet written before publishes are dropped (default 16 MiB) */
  maxQueueBytes?: number
  /** where drops are logged: a pino logger such as `app.log` (default: process warnings) */
  logger?: ClusterLogger
}

export class ClusterAdapter implements PubSubAdapter {
  private readonly fixedMessageBytes: boolean
  private maxMessageBytes: number
  private readonly maxQueueBytes: number
  private readonly log: ClusterLogger
  private state: 'idle' | 'running' | 'closed' = 'idle'
  private deliver: DeliverFunction | null = null
  /** null outside a cluster worker (then messages are delivered here) */
  private outbox: Outbox | null = null
  private readonly base64 = channelIsJson()
  private readonly onMessage = (message: unknown): void => this.received(message)

  constructor (options: ClusterAdapterOptions = {}) {
    this.fixedMessageBytes = options.maxMessageBytes !== undefined
    this.maxMessageBytes = integerIn('maxMessageBytes', options.maxMessageBytes, 1, 2 ** 31 - 1, DEFAULT_MAX_PAYLOAD)
    this.maxQueueBytes = integerIn('maxQueueBytes', options.maxQueueBytes, 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_QUEUE_BYTES)
    this.log = options.logger ?? warningLogger
  }

  /** Whether messages travel through a primary (false outside a cluster worker, or once it is gone). */
  get clustered (): boolean {
    return this.outbox !== null && process.connected === true
  }

  start (deliver: DeliverFunction, context?: AdapterContext): void {
    if (this.state !== 'idle') throw wsError('WS_ERR_INVALID_OPTION', 'a clusterAdapter can be started once')
    if (!this.fixedMessageBytes && context !== undefined) this.maxMessageBytes = context.maxPayload
    this.state = 'running'
    this.deliver = deliver
    if (!cluster.isWorker || typeof process.send !== 'function') return
    this.outbox = new Outbox((message, callback) => process.send?.(message, callback), this.maxQueueBytes)
    process.on('message', this.onMessage)
  }

  publish (message: PublishedMessage): void | Promise<void> {
    if (this.state === 'closed') return Promise.reject(wsError('WS_ERR_CONNECTION_CLOSED', 'the clusterAdapter is closed'))
    const size = message.data.length
    if (size > this.maxMessageBytes) {
      // every receiver would drop it: better not sent at all, and said here
      this.log.warn({ err: tooBig(size, this.maxMessageBytes), topic: message.topic }, 'pub/sub message larger than maxMessageBytes not published')
      return
    }
    const outbox = this.outbox
    if (outbox === null || process.connected !== true) {
      // not a worker, or the primary is gone (the worker is about to exit): this process only
      this.deliverSafely(message)
      return
    }
    const sent = outbox.send({
      [TAG]: 'pub',
      topic: message.topic,
      data: encodeData(message.data, this.base64),
      binary: message.binary,
      origin: message.origin,
      except: message.exceptSocket
    }, size + message.topic.length)
    if (!sent && outbox.dropped === 1) {
      this.log.warn({ err: backlogError(1, outbox.queued), maxQueueBytes: this.maxQueueBytes },
        'pub/sub: the primary is not reading; publishes are dropped until it catches up')
    } else if (sent && outbox.dropped > 0) {
      this.log.warn({ err: backlogError(outbox.dropped, outbox.queued) }, 'pub/sub: the primary caught up; publishes were dropped meanwhile')
      outbox.dropped = 0
    }
  }

  subscribe (topic: string): void {
    this.tellPrimary('sub', topic)
  }

  unsubscribe (topic: string): void {
    this.tellPrimary('unsub', topic)
  }

  close (): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.deliver = null
    if (this.outbox !== null) process.removeListener('message', this.onMessage)
  }

  private tellPrimary (kind: 'sub' | 'unsub', topic: string): void {
    if (this.state !== 'running' || this.outbox === null || process.connected !== true) return
    const message: IpcMessage = { [TAG]: kind, topic, base64: this.base64 }
    // a subscription is never dropped: missing one would cut a worker off a topic for good
    this.outbox.send(message, topic.length, true)
  }

  private received (message: unknown): void {
    if (!isPublish(message, 'msg') || this.deliver === null) return
    const data = decodeData(message.data)
    if (data === null) return
    if (data.length > this.maxMessageBytes) {
      this.log.warn({ err: tooBig(data.length, this.maxMessageBytes), topic: message.topic }, 'pub/sub message from the primary larger than maxMessageBytes dropped')
      return
    }
    this.deliverSafely({ topic: message.topic, data, binary: message.binary, origin: message.origin, exceptSocket: message.except })
  }

  private deliverSafely (message: PublishedMessage): void {
    try {
      this.deliver?.(message)
    } catch (err) {
      // an IPC 'message' listener that throws would end the worker
      this.log.error({ err, topic: message.topic }, 'pub/sub delivery failed')
    }
  }
}

/** Share topics between the workers of a node:cluster; the primary runs setupPrimary(). */
export function clusterAdapter (options?: ClusterAdapterOptions): ClusterAdapter {
  return new ClusterAdapter(options)
}
