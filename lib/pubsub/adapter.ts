// The pub/sub adapter interface. The plugin keeps the local subscriber registry; an adapter only
// carries published messages between processes. The in-process adapter delivers straight back;
// a Redis adapter publishes to a channel and delivers what every process (itself included)
// receives from its subscription, so several processes behind a load balancer share topics.

/** A published message as it travels between processes. */
export interface PublishedMessage {
  topic: string
  data: Buffer
  binary: boolean
  /** id of the process that published it, with `exceptSocket`, to leave out the sender */
  origin: string
  /** id of the socket that published it (not sent back to it), if any */
  exceptSocket: string | null
  /**
   * Set by a resumable adapter on a message of a resumable topic (see `resumable`): `<ms>-<seq>`,
   * increasing per topic, the same in every process. Subscribers receive it with the message.
   */
  id?: string
  /**
   * Not a message: the adapter lost messages of the topic up to `id` (its connection was down
   * longer than the window); each subscriber is told of the gap.
   */
  gap?: boolean
}

import type { ReplayResult } from './resume'

export type { ReplayResult } from './resume'

export type DeliverFunction = (message: PublishedMessage) => void

/** What the plugin tells an adapter at start. */
export interface AdapterContext {
  /** the plugin's maxPayload: the largest message a client can send, so the largest it publishes */
  maxPayload: number
}

export interface PubSubAdapter {
  /** Begin: `deliver` is to be called with every message published anywhere, this process included. */
  start (deliver: DeliverFunction, context?: AdapterContext): void | Promise<void>
  /** Carry a message published here to every process (this one included). */
  publish (message: PublishedMessage): void | Promise<void>
  /** The first local subscriber to `topic` appeared (a Redis adapter subscribes to its channel). */
  subscribe? (topic: string): void | Promise<void>
  /** The last local subscriber to `topic` left. */
  unsubscribe? (topic: string): void | Promise<void>
  /** Whether the adapter can carry messages now (app.websocketStats()); leave it out when it always can. */
  readonly connected?: boolean
  /** Release connections (called from fastify.close()). */
  close? (): void | Promise<void>
  /**
   * Resumable topics (optional: an adapter without them carries messages without ids, and no
   * client can resume). True if messages of `topic` get an id and a replay window.
   */
  resumable? (topic: string): boolean
  /**
   * What is held of `topic` after the id `after` (a client's last one), oldest first, or the gap
   * before it; `after` null: only the topic's newest id, for a client subscribing afresh.
   */
  replay? (topic: string, after: string | null): ReplayResult | Promise<ReplayResult>
  /** most `resume` parameters one client may present (default 100; more: none is trusted) */
  readonly maxResumeTopics?: number
}
