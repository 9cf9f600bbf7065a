// The primary's side of the cluster adapter (cluster.ts): it keeps which workers have a
// subscriber to which topic and relays each publish to those workers, in the order it received
// them, numbering each topic's messages. A worker that exits (or disconnects) is forgotten with
// its subscriptions and its unsent messages; the one forked in its place subscribes again as its
// sockets do.
//
// Bounded: a publish larger than maxMessageBytes is dropped (WS_ERR_CLUSTER_MESSAGE_TOO_BIG), and
// each worker that does not read (busy or stuck) gets at most maxQueueBytes of unsent messages;
// past that its publishes are dropped, for that worker only (WS_ERR_CLUSTER_BACKLOG, logged when
// the streak starts and, with its count, when it ends).
import cluster, { type Worker } from 'node:cluster'
import { integerIn } from '../engine/option-checks'
import { DEFAULT_MAX_PAYLOAD } from '../engine/constants'
import { wsError } from '../errors'
import {
  TAG, DEFAULT_MAX_QUEUE_BYTES, Outbox, backlogError, dataBytes, decodeData, isPublish, isSubscription, tooBig,
  warningLogger, type ClusterLogger, type IpcPublish
} from './cluster-ipc'

export interface ClusterPrimaryOptions {
  /** largest message relayed, in bytes of data (default 16 MiB, the plugin's default maxPayload) */
  maxMessageBytes?: number
  /** unsent bytes held for one worker before its messages are dropped (default 16 MiB) */
  maxQueueBytes?: number
  /** where drops are logged (default: process warnings) */
  logger?: ClusterLogger
  /**
   * the IPC serialization of workers forked from now on: 'advanced' (the default) carries message
   * bytes as they are; 'json' keeps Node's default, and messages travel as base64
   */
  serialization?: 'advanced' | 'json'
}

/** The relay running in the primary (from setupPrimary()). */
export interface ClusterPrimary {
  /** workers with at least one subscription */
  readonly workers: number
  /** topics with a subscriber in some worker */
  readonly topics: number
  /** stop relaying (forget every subscription) */
  close (): void
}

interface WorkerState {
  outbox: Outbox
  /** its channel is a 'json' one: data travels as base64 */
  base64: boolean
  /** topic -> subscriptions from the worker (one per adapter: an app registered twice in one worker counts twice) */
  topics: Map<string, number>
}

interface TopicState {
  workers: Set<WorkerState>
  /** messages relayed on the topic so far */
  seq: number
}

/**
 * Run the relay in the cluster's primary, before forking the workers (it sets their IPC
 * serialization to 'advanced' unless told otherwise). Workers use `clusterAdapter()`.
 */
export function setupPrimary (options: ClusterPrimaryOptions = {}): ClusterPrimary {
  if (!cluster.isPrimary) throw wsError('WS_ERR_INVALID_OPTION', 'setupPrimary() runs in the cluster primary; workers use clusterAdapter()')
  const maxMessageBytes = integerIn('maxMessageBytes', options.maxMessageBytes, 1, 2 ** 31 - 1, DEFAULT_MAX_PAYLOAD)
  const maxQueueBytes = integerIn('maxQueueBytes', options.maxQueueBytes, 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_QUEUE_BYTES)
  const log = options.logger ?? warningLogger
  if (options.serialization !== undefined && options.serialization !== 'advanced' && options.serialization !== 'json') {
    throw wsError('WS_ERR_INVALID_OPTION', 'serialization must be \'advanced\' or \'json\'')
  }
  if (options.serialization !== 'json') cluster.setupPrimary({ serialization: 'advanced' })

  const workers = new Map<Worker, WorkerState>()
  const topics = new Map<string, TopicState>()

  function stateOf (worker: Worker, base64: boolean): WorkerState {
    let state = workers.get(worker)
    if (state === undefined) {
      const outbox = new Outbox((message, callback) => worker.send(message, undefined, callback), maxQueueBytes)
      state = { outbox, base64, topics: new Map() }
      workers.set(worker, state)
    }
    return state
  }

  function subscribe (state: WorkerState, topic: string): void {
    const count = state.topics.get(topic) ?? 0
    state.topics.set(topic, count + 1)
    if (count > 0) return
    let entry = topics.get(topic)
    if (entry === undefined) {
      entry = { workers: new Set(), seq: 0 }
      topics.set(topic, entry)
    }
    entry.workers.add(state)
  }

  function unsubscribe (state: WorkerState, topic: string, all = false): void {
    const count = state.topics.get(topic)
    if (count === undefined) return
    if (count > 1 && !all) {
      state.topics.set(topic, count - 1)
      return
    }
    state.topics.delete(topic)
    const entry = topics.get(topic)
    if (entry === undefined) return
    entry.workers.delete(state)
    if (entry.workers.size === 0) topics.delete(topic)
  }

  function forget (worker: Worker): void {
    const state = workers.get(worker)
    if (state === undefined) return
    workers.delete(worker)
    for (const topic of [...state.topics.keys()]) unsubscribe(state, topic, true)
  }

  function relay (message: IpcPublish): void {
    const entry = topics.get(message.topic)
    if (entry === undefined) return
    const size = dataBytes(message.data)
    if (size > maxMessageBytes) {
      log.warn({ err: tooBig(size, maxMessageBytes), topic: message.topic }, 'pub/sub message larger than maxMessageBytes not relayed')
      return
    }
    const seq = ++entry.seq
    // one object per channel kind, made only if a worker of that kind subscribes
    let raw: IpcPublish | null = null
    let base64: IpcPublish | null = null
    for (const state of entry.workers) {
      let out: IpcPublish
      if (state.base64) {
        base64 ??= { [TAG]: 'msg', topic: message.topic, data: typeof message.data === 'string' ? message.data : Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('base64'), binary: message.binary, origin: message.origin, except: message.except, seq }
        out = base64
      } else {
        raw ??= { [TAG]: 'msg', topic: message.topic, data: decodeData(message.data) as Buffer, binary: message.binary, origin: message.origin, except: message.except, seq }
        out = raw
      }
      const sent = state.outbox.send(out, size + message.topic.length)
      if (!sent && state.outbox.dropped === 1) {
        log.warn({ err: backlogError(1, state.outbox.queued), maxQueueBytes }, 'pub/sub: a worker is not reading; its messages are dropped until it catches up')
      } else if (sent && state.outbox.dropped > 0) {
        log.warn({ err: backlogError(state.outbox.dropped, state.outbox.queued) }, 'pub/sub: a worker caught up; messages to it were dropped meanwhile')
        state.outbox.dropped = 0
      }
    }
  }

  function onMessage (worker: Worker, message: unknown): void {
    try {
      if (isPublish(message, 'pub')) relay(message)
      else if (isSubscription(message)) {
        const state = stateOf(worker, message.base64 === true)
        if (message[TAG] === 'sub') subscribe(state, message.topic)
        else unsubscribe(state, message.topic)
      }
    } catch (err) {
      // a listener that throws would end the primary, and every worker with it
      log.error({ err }, 'pub/sub relay failed')
    }
  }

  cluster.on('message', onMessage)
  cluster.on('exit', forget)
  cluster.on('disconnect', forget)

  return {
    get workers () { return workers.size },
    get topics () { return topics.size },
    close () {
      cluster.removeListener('message', onMessage)
      cluster.removeListener('exit', forget)
      cluster.removeListener('disconnect', forget)
      workers.clear()
      topics.clear()
    }
  }
}
