// A client connection that comes back: connect(), and after every drop or failed attempt wait
// (exponential backoff with jitter) and connect again, until close() or a failure that another
// attempt would not fix.
import { EventEmitter } from 'node:events'
import { CLOSED, CONNECTING } from '../engine/constants'
import { wsError } from '../errors'
import type { SendCallback, SendOptions, WebSocket, WebSocketData } from '../socket'
import { backoffDelay, isRetryable, resolveBackoff, retryAfterMs, type ReconnectOptions, type ResolvedBackoff } from './backoff'
import { connect } from './connect'
import type { ClientOptions } from './options'
import { readResumeHeader, ResumePositions } from './resume'
import { integerIn } from '../engine/option-checks'

export interface ReconnectingOptions extends ClientOptions {
  /** backoff settings (all optional) */
  reconnect?: ReconnectOptions
  /**
   * Decide whether to reconnect after an open socket closed (the user's close() never
   * reconnects). Default: always, whatever the code.
   */
  shouldReconnect?: (code: number, reason: Buffer) => boolean
  /**
   * Resume the server's resumable topics (README "Resumable topics"): read the id each of their
   * messages carries, present the last one per topic when reconnecting, and drop duplicates.
   * `true`, or `{ maxTopics }`: how many topics' ids to present (default 100, the server's
   * default maxResumeTopics; the least recently updated are forgotten first).
   */
  resume?: boolean | { maxTopics?: number }
}

/** What comes with a message of a resumable topic (third argument of 'message'). */
export interface ResumedMessage {
  topic: string
  /** `<ms>-<seq>`, increasing per topic */
  id: string
}

export interface ReconnectingWebSocketEvents {
  /** a connection is open; `socket` is the WebSocket of this connection */
  open: [socket: WebSocket]
  /** with `resume`, a message of a resumable topic comes without its header, and with `resumed` */
  message: [data: Buffer, isBinary: boolean, resumed?: ResumedMessage]
  /** with `resume`: messages of `topic` after the last id seen, up to `id`, are lost (re-read the state) */
  gap: [topic: string, id: string]
  /** with `resume`: what was missed of `topic` has been replayed; live messages follow; `id` is the newest */
  synced: [topic: string, id: string]
  /** the current connection closed (it may be followed by 'reconnecting') */
  close: [code: number, reason: Buffer]
  /** waiting `delay` ms before attempt number `attempt` (1, 2, ... since the last open); `cause` is the failure, null after a drop */
  reconnecting: [attempt: number, delay: number, cause: unknown]
  /** no more attempts: `cause` is null after close(), else the error that stopped the retries */
  end: [cause: unknown]
  /** errors of the open socket (forwarded only while someone listens) */
  error: [err: Error]
  ping: [data: Buffer]
  pong: [data: Buffer]
  drain: []
}

/**
 * Events: 'open' (socket), 'message' (data, isBinary), 'close' (code, reason) for each
 * connection, 'reconnecting' (attempt, delay, cause) before each wait, and 'end' (cause) once,
 * when it stops. Failed openings do not emit 'error': their cause comes with 'reconnecting' or
 * 'end'. Never retried: 4xx refusals other than 408 and 429, and configuration errors (see
 * `isRetryable`). A refusal's Retry-After lengthens the wait, up to `maxDelay`.
 */
export class ReconnectingWebSocket extends EventEmitter<ReconnectingWebSocketEvents> {
  readonly url: string | URL
  private readonly options: ClientOptions
  private readonly backoff: ResolvedBackoff
  private readonly shouldReconnect: ((code: number, reason: Buffer) => boolean) | undefined
  private current: WebSocket | null = null
  private attempt = 0
  private stopped = false
  private ended = false
  private timer: NodeJS.Timeout | null = null
  private opening: AbortController | null = null
  private readonly resume: ResumePositions | null

  /** @throws WebSocketError WS_ERR_INVALID_OPTION for bad reconnect settings */
  constructor (url: string | URL, options: ReconnectingOptions = {}) {
    super()
    const { reconnect, shouldReconnect, signal, resume, ...clientOptions } = options
    this.url = url
    this.resume = resume === undefined || resume === false
      ? null
      : new ResumePositions(integerIn('resume.maxTopics', resume === true ? undefined : resume.maxTopics, 0, 10_000, 100))
    this.options = clientOptions
    this.backoff = resolveBackoff(reconnect)
    this.shouldReconnect = shouldReconnect
    if (signal !== undefined) {
      if (signal.aborted) this.stopped = true
      else signal.addEventListener('abort', () => this.close(), { once: true })
    }
    process.nextTick(() => {
      if (this.stopped) this.end(null)
      else this.open()
    })
  }

  /** The open connection's socket, or null between connections. */
  get socket (): WebSocket | null { return this.current }

  /** The current socket's state; CONNECTING between connections, CLOSED once ended. */
  get readyState (): number {
    if (this.current !== null) return this.current.readyState
    return this.stopped ? CLOSED : CONNECTING
  }

  /** With `resume`: the last id seen per topic, presented at the next connection. */
  get positions (): ReadonlyMap<string, string> {
    return this.resume?.positions ?? new Map()
  }

  /** With `resume`: stop presenting an id for `topic` (after unsubscribing from it, say). */
  forget (topic: string): void {
    this.resume?.forget(topic)
  }

  /** Send on the open connection. Nothing is queued between connections: returns false then. */
  send (data: WebSocketData, options?: SendOptions | SendCallback, cb?: SendCallback): boolean {
    if (this.current !== null) return this.current.send(data, options, cb)
    const callback = typeof options === 'function' ? options : cb
    if (callback !== undefined) process.nextTick(callback, wsError('WS_ERR_NOT_OPEN'))
    return false
  }

  /** Stop reconnecting and close the current connection (if any) with a closing handshake. */
  close (code?: number, reason?: string): void {
    if (this.stopped) return
    const ws = this.current
    // first, so that an invalid code or reason throws before anything changed; 'end' follows
    // the socket's 'close'
    if (ws !== null) ws.close(code, reason)
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.opening?.abort()
    this.opening = null
    if (ws === null) process.nextTick(() => this.end(null))
  }

  private open (): void {
    const controller = new AbortController()
    this.opening = controller
    const url = this.resume === null ? this.url : this.resume.apply(this.url)
    connect(url, { ...this.options, signal: controller.signal }).then(ws => {
      this.opening = null
      if (this.stopped) {
        ws.close()
        return
      }
      this.adopt(ws)
    }, (err: unknown) => {
      if (this.stopped) return // aborted by close(), which emits 'end'
      this.opening = null
      if (!isRetryable(err)) this.end(err)
      else this.retry(err)
    })
  }

  private adopt (ws: WebSocket): void {
    this.current = ws
    this.attempt = 0
    ws.on('message', this.resume === null
      ? (data: Buffer, isBinary: boolean) => this.emit('message', data, isBinary)
      : (data: Buffer, isBinary: boolean) => this.resumed(data, isBinary))
    ws.on('ping', (data: Buffer) => this.emit('ping', data))
    ws.on('pong', (data: Buffer) => this.emit('pong', data))
    ws.on('drain', () => this.emit('drain'))
    ws.on('error', (err: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
    })
    ws.once('close', (code: number, reason: Buffer) => {
      this.current = null
      this.emit('close', code, reason)
      if (this.stopped) this.end(null)
      else if (this.shouldReconnect !== undefined && !this.shouldReconnect(code, reason)) this.end(null)
      else this.retry(null)
    })
    this.emit('open', ws)
  }

  private resumed (data: Buffer, isBinary: boolean): void {
    const header = Buffer.isBuffer(data) ? readResumeHeader(data) : null
    if (header === null) {
      this.emit('message', data, isBinary)
      return
    }
    if (!this.resume!.take(header)) return // seen before the reconnect
    if (header.kind === 'm') this.emit('message', header.data, isBinary, { topic: header.topic, id: header.id })
    else if (header.kind === 'g') this.emit('gap', header.topic, header.id)
    else this.emit('synced', header.topic, header.id)
  }

  private retry (cause: unknown): void {
    this.attempt++
    if (this.attempt > this.backoff.retries) {
      this.end(cause)
      return
    }
    let delay = backoffDelay(this.attempt, this.backoff)
    const asked = retryAfterMs(cause)
    if (asked !== undefined) delay = Math.max(delay, Math.min(asked, this.backoff.maxDelay))
    this.emit('reconnecting', this.attempt, delay, cause)
    if (this.stopped) return // close() from a 'reconnecting' listener
    this.timer = setTimeout(() => {
      this.timer = null
      this.open()
    }, delay)
  }

  /** Stop for good; 'end' is emitted once, whichever path gets here first. */
  private end (cause: unknown): void {
    this.stopped = true
    if (this.ended) return
    this.ended = true
    this.emit('end', cause)
  }
}

/** Open a ReconnectingWebSocket: it starts connecting on the next tick. */
export function connectWithRetry (url: string | URL, options?: ReconnectingOptions): ReconnectingWebSocket {
  return new ReconnectingWebSocket(url, options)
}
