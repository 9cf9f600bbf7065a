// One TCP connection to Redis for the pub/sub adapter: where to connect (from a redis:// URL),
// the setup every connection answers before it is used (AUTH, SELECT, PING), a bounded connect
// time, replies parsed within the adapter's limits, and replies and losses handed to the
// adapter, which decides about reconnecting.
import { connect as netConnect, type Socket } from 'node:net'
import { encodeCommand, RespError, RespParser, type RespLimits, type RespValue } from './resp'
import { wsError } from '../errors'

export interface RedisTarget {
  host: string
  port: number
  /** AUTH, SELECT (if the URL asks for them), then PING: a connection is ready once all answered */
  setup: Buffer[]
}

export type LinkRole = 'publisher' | 'subscriber'

/** What a link tells its adapter; one object per adapter, shared by every connection it makes. */
export interface LinkEvents {
  ready (link: RedisLink): void
  /** the connection closed, or an attempt failed; `wasReady` tells which */
  down (link: RedisLink, wasReady: boolean, err: Error): void
  /** a reply after the setup */
  reply (link: RedisLink, value: RespValue): void
}

const KEEPALIVE_MS = 30_000
/** what one read from Redis may bring */
const READ_BUFFER_BYTES = 64 * 1024
/** how long close() lets a connection flush and say goodbye before destroying it */
const CLOSE_GRACE_MS = 1000

/** Parse a redis:// URL into where to connect and what to send first. */
export function parseRedisUrl (url: string): RedisTarget {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw wsError('WS_ERR_INVALID_OPTION', `redisAdapter url ${JSON.stringify(url)} is not a URL`)
  }
  if (parsed.protocol !== 'redis:') {
    throw wsError('WS_ERR_INVALID_OPTION', `redisAdapter url must start with redis:// (TLS is not supported), got ${parsed.protocol}//`)
  }
  const setup: Buffer[] = []
  const user = decodeURIComponent(parsed.username)
  const password = decodeURIComponent(parsed.password)
  if (password !== '') setup.push(encodeCommand(user === '' ? ['AUTH', password] : ['AUTH', user, password]))
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '') {
    if (!/^\d{1,5}$/.test(db)) throw wsError('WS_ERR_INVALID_OPTION', `redisAdapter url database must be a number, got ${JSON.stringify(db)}`)
    setup.push(encodeCommand(['SELECT', db]))
  }
  setup.push(encodeCommand(['PING']))
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    setup
  }
}

export class RedisLink {
  socket: Socket | null = null
  /** connected and set up: commands may be written */
  ready = false
  /**
   * Failures since the link last stayed up `backoffResetAfter` ms, for the backoff. Not cleared
   * when a connection merely answers its setup: a server that answers PING and then sends
   * garbage would otherwise be reconnected to at the shortest delay forever.
   */
  failures = 0
  private retryTimer: NodeJS.Timeout | null = null
  private connectTimer: NodeJS.Timeout | null = null
  private healthyTimer: NodeJS.Timeout | null = null
  private setupPending = 0
  private lastError: Error | null = null
  private parser: RespParser | null = null
  /**
   * Every read lands here, not in a new Buffer per read: a server streaming hundreds of MB that
   * we only skip (or refuse) leaves no garbage behind. The parser copies whatever it keeps.
   */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)

  constructor (
    readonly role: LinkRole,
    private readonly target: RedisTarget,
    private readonly connectTimeout: number,
    private readonly backoffResetAfter: number,
    /** read at each connection, so the adapter can settle them at start() */
    private readonly limits: RespLimits,
    private readonly events: LinkEvents
  ) {}

  open (): void {
    // a fresh parser per connection: nothing of a broken connection's partial reply survives
    this.parser = new RespParser(this.onReply, this.limits)
    this.ready = false
    this.lastError = null
    const socket = netConnect({ host: this.target.host, port: this.target.port, onread: { buffer: this.readBuffer, callback: this.onRead } })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEPALIVE_MS)
    socket.on('connect', this.onConnect).on('error', this.onError).on('close', this.onClose)
    this.socket = socket
    this.connectTimer = setTimeout(this.onConnectTimeout, this.connectTimeout)
  }

  /** Open again after `delay` ms. */
  retryIn (delay: number): void {
    this.retryTimer = setTimeout(this.retry, delay)
  }

  write (bytes: Buffer): void {
    this.socket!.write(bytes)
  }

  /** Close for good: clear the timers, let a ready publisher flush its writes, then close. */
  close (): Promise<void> {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer)
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.connectTimer = null
    this.retryTimer = null
    this.clearHealthy()
    const socket = this.socket
    if (socket === null) return Promise.resolve()
    return new Promise(resolve => {
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS)
      socket.once('close', () => {
        clearTimeout(grace)
        resolve()
      })
      if (this.ready && this.role === 'publisher') socket.end()
      else socket.destroy()
    })
  }

  private clearHealthy (): void {
    if (this.healthyTimer !== null) clearTimeout(this.healthyTimer)
    this.healthyTimer = null
  }

  private readonly onHealthy = (): void => {
    this.healthyTimer = null
    this.failures = 0
  }

  private fail (err: Error): void {
    this.lastError ??= err
    this.socket?.destroy()
  }

  private readonly retry = (): void => {
    this.retryTimer = null
    this.open()
  }

  private readonly onConnect = (): void => {
    const setup = this.target.setup
    this.setupPending = setup.length
    this.socket!.write(setup.length === 1 ? setup[0] : Buffer.concat(setup))
  }

  private readonly onRead = (bytes: number, buffer: Buffer): boolean => {
    try {
      this.parser!.feed(buffer.subarray(0, bytes))
    } catch (err) {
      this.fail(err as Error)
    }
    return true
  }

  private readonly onReply = (value: RespValue): void => {
    // replies parsed from the same chunk after a failure are not acted on
    if (this.socket === null || this.socket.destroyed) return
    if (this.setupPending === 0) {
      this.events.reply(this, value)
      return
    }
    if (value instanceof RespError) {
      this.fail(wsError('WS_ERR_REDIS_CONNECT', value.message))
      return
    }
    if (--this.setupPending > 0) return
    clearTimeout(this.connectTimer!)
    this.connectTimer = null
    this.ready = true
    this.healthyTimer = setTimeout(this.onHealthy, this.backoffResetAfter)
    this.events.ready(this)
  }

  private readonly onError = (err: Error): void => {
    this.lastError ??= err
  }

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = null
    this.fail(wsError('WS_ERR_REDIS_CONNECT', `no answer within ${this.connectTimeout} ms`))
  }

  private readonly onClose = (): void => {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer)
    this.connectTimer = null
    this.clearHealthy()
    const wasReady = this.ready
    this.ready = false
    this.socket = null
    this.events.down(this, wasReady, this.lastError ?? new Error('connection closed by Redis'))
  }
}
