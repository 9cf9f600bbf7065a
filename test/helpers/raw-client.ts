// A raw TCP client for conformance tests: it sends exactly the bytes a test crafts (a handshake
// request with any method and headers, frames built with ./frames) and reads back what the
// server really wrote: the HTTP response head and body, then frames decoded one at a time, and
// who closed the TCP connection first. Every wait is bounded by a timeout.
import { connect, type Socket } from 'node:net'
import { decodeFrames, frame, type DecodedFrame } from './frames'

/** What a test needs of tap's Test for cleanup: tap's `t` fits. */
export interface Teardown { teardown (fn: () => unknown): void }

export interface HttpResponseHead {
  statusCode: number
  statusText: string
  /** header names lower-cased; a repeated header's values joined with ', ' */
  headers: Record<string, string>
  /** the head exactly as received, up to and including the blank line */
  raw: string
  /** the body: Content-Length bytes, or everything up to the server's FIN */
  body: Buffer
}

/** A frame as received, with its header bytes (to check the length encoding the server chose). */
export interface ReceivedFrame extends DecodedFrame { header: Buffer }

export type TcpEvent = 'client-fin' | 'server-fin' | 'closed'

export const DEFAULT_TIMEOUT = 3000
/** The sample nonce of RFC 6455 section 1.3 and its Sec-WebSocket-Accept. */
export const RFC_SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
export const RFC_SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

const HEAD_END = Buffer.from('\r\n\r\n')

export interface RequestSpec {
  method?: string
  path?: string
  httpVersion?: string
  /**
   * Headers in order, over the defaults (Host, Upgrade, Connection, Sec-WebSocket-Key,
   * Sec-WebSocket-Version: 13): a string replaces a default of the same name, an array sends the
   * header once per value, null leaves the default out.
   */
  headers?: Record<string, string | string[] | null>
}

/** The exact bytes of an opening-handshake request. */
export function handshakeRequest (spec: RequestSpec = {}): string {
  const defaults: Record<string, string | string[] | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': RFC_SAMPLE_KEY,
    'Sec-WebSocket-Version': '13'
  }
  const merged = new Map<string, [string, string | string[] | null]>()
  for (const [name, value] of Object.entries(defaults)) merged.set(name.toLowerCase(), [name, value])
  for (const [name, value] of Object.entries(spec.headers ?? {})) merged.set(name.toLowerCase(), [name, value])
  let out = `${spec.method ?? 'GET'} ${spec.path ?? '/'} HTTP/${spec.httpVersion ?? '1.1'}\r\n`
  for (const [name, value] of merged.values()) {
    if (value === null) continue
    for (const v of Array.isArray(value) ? value : [value]) out += `${name}: ${v}\r\n`
  }
  return out + '\r\n'
}

/** `promise`, or a rejection naming `what` if it has not settled after `ms` (the timer is always cleared). */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Index of the first byte where `a` and `b` differ, -1 if they are equal (a readable failure for large payloads). */
export function firstDifference (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}

/** Length of the first frame in `buf` if it is complete, else -1. */
export function completeFrameLength (buf: Buffer): number {
  if (buf.length < 2) return -1
  const b1 = buf[1]
  let len = b1 & 0x7f
  let at = 2
  if (len === 126) {
    if (buf.length < 4) return -1
    len = buf.readUInt16BE(2)
    at = 4
  } else if (len === 127) {
    if (buf.length < 10) return -1
    len = Number(buf.readBigUInt64BE(2))
    at = 10
  }
  if ((b1 & 0x80) !== 0) at += 4
  return buf.length >= at + len ? at + len : -1
}

/** A masked client frame (a random key), the way a conforming client sends it. */
export function clientFrame (opcode: number, payload: Uint8Array | string = '', fin = true, rsv = 0): Buffer {
  return frame({ opcode, payload, fin, rsv, mask: true })
}

export class RawClient {
  readonly socket: Socket
  /** bytes received and not yet consumed by readHead/readFrame */
  private pending: Buffer = Buffer.alloc(0)
  /** TCP events in the order they happened */
  readonly events: TcpEvent[] = []
  /** the socket's error, if any (ECONNRESET, EPIPE) */
  error: Error | null = null
  private readonly waiters = new Set<() => void>()

  private constructor (socket: Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
      this.notify()
    })
    socket.on('end', () => { this.events.push('server-fin'); this.notify() })
    socket.on('close', () => { this.events.push('closed'); this.notify() })
    socket.on('error', err => { this.error = err; this.notify() })
  }

  /** Connect to 127.0.0.1:port; the socket is destroyed in `t`'s teardown. */
  static connect (port: number, t: Teardown, timeout = DEFAULT_TIMEOUT): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: the client decides when to send its FIN, so that who closed first shows
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
      t.teardown(() => socket.destroy())
      const timer = setTimeout(() => { socket.destroy(); reject(new Error('connect timed out')) }, timeout)
      socket.once('connect', () => { clearTimeout(timer); resolve(new RawClient(socket)) })
      socket.once('error', err => { clearTimeout(timer); reject(err) })
    })
  }

  /** Connect, send `spec` and read the response head (and body, unless it is a 101). */
  static async request (port: number, t: Teardown, spec: RequestSpec | string = {}): Promise<{ client: RawClient, head: HttpResponseHead }> {
    const client = await RawClient.connect(port, t)
    client.write(typeof spec === 'string' ? spec : handshakeRequest(spec))
    const head = await client.readHead()
    return { client, head }
  }

  /** Open a WebSocket on `path` (throws unless the server answers 101). */
  static async open (port: number, t: Teardown, path = '/', headers: RequestSpec['headers'] = {}): Promise<RawClient> {
    const { client, head } = await RawClient.request(port, t, { path, headers })
    if (head.statusCode !== 101) throw new Error(`expected 101, got ${head.statusCode}: ${head.body.toString()}`)
    return client
  }

  /** Bytes the server sent that no read consumed yet. */
  get unread (): Buffer { return this.pending }

  /** True once the server's FIN arrived (it closed its side of TCP). */
  get serverEnded (): boolean { return this.events.includes('server-fin') }

  get closed (): boolean { return this.events.includes('closed') }

  /** Who half-closed TCP first: 'server', 'client', or null while both sides are open. */
  get closedFirstBy (): 'server' | 'client' | null {
    for (const e of this.events) {
      if (e === 'server-fin') return 'server'
      if (e === 'client-fin') return 'client'
    }
    // a close with neither FIN seen (a reset, or our own destroy) names no one
    return null
  }

  write (data: Uint8Array | string): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false
    return this.socket.write(data)
  }

  /** Write `data` in pieces of `size` bytes, one write per piece, waiting for each to be flushed. */
  async writeInPieces (data: Buffer, size = 1, timeout = DEFAULT_TIMEOUT * 3): Promise<void> {
    const deadline = Date.now() + timeout
    for (let at = 0; at < data.length; at += size) {
      if (Date.now() > deadline) throw new Error(`writing ${data.length} bytes in pieces timed out at ${at}`)
      await new Promise<void>((resolve, reject) => {
        this.socket.write(data.subarray(at, at + size), err => err == null ? resolve() : reject(err))
      })
    }
  }

  /** Send a masked frame. */
  send (opcode: number, payload: Uint8Array | string = '', fin = true, rsv = 0): boolean {
    return this.write(clientFrame(opcode, payload, fin, rsv))
  }

  /** Half-close: send our FIN. */
  end (): void {
    this.events.push('client-fin')
    this.socket.end()
  }

  /** Resolve once `check` returns a value other than undefined; reject after `timeout` ms. */
  waitFor<T> (what: string, check: () => T | undefined, timeout = DEFAULT_TIMEOUT): Promise<T> {
    const first = check()
    if (first !== undefined) return Promise.resolve(first)
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        let value: T | undefined
        try {
          value = check()
        } catch (err) {
          done()
          reject(err)
          return
        }
        if (value === undefined) return
        done()
        resolve(value)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`timed out after ${timeout} ms waiting for ${what} (events: ${this.events.join(',') || 'none'}, ` +
          `${this.pending.length} bytes unread)`))
      }, timeout)
      const done = (): void => {
        clearTimeout(timer)
        this.waiters.delete(waiter)
      }
      this.waiters.add(waiter)
    })
  }

  private notify (): void {
    for (const w of [...this.waiters]) w()
  }

  /** Read an HTTP response head; for a status other than 101, also its body. */
  async readHead (timeout = DEFAULT_TIMEOUT): Promise<HttpResponseHead> {
    const end = await this.waitFor('the HTTP response head', () => {
      const at = this.pending.indexOf(HEAD_END)
      if (at !== -1) return at
      if (this.closed) throw new Error(`connection closed before a response head (got ${JSON.stringify(this.pending.toString())})`)
      return undefined
    }, timeout)
    const raw = this.pending.subarray(0, end + 4).toString('latin1')
    this.pending = this.pending.subarray(end + 4)
    const [statusLine, ...lines] = raw.slice(0, -4).split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine)
    if (m === null) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`)
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const statusCode = Number(m[1])
    let body: Buffer = Buffer.alloc(0)
    if (statusCode !== 101) {
      const length = headers['content-length'] === undefined ? -1 : Number(headers['content-length'])
      body = await this.waitFor('the response body', () => {
        if (length >= 0 && this.pending.length >= length) return this.pending.subarray(0, length)
        // no Content-Length, or a response to HEAD: the body is whatever came before the FIN
        if (this.serverEnded || this.closed) return this.pending
        return undefined
      }, timeout)
      this.pending = this.pending.subarray(body.length)
    }
    return { statusCode, statusText: m[2], headers, raw, body }
  }

  /** Read the next complete frame the server sent. */
  async readFrame (timeout = DEFAULT_TIMEOUT): Promise<ReceivedFrame> {
    const length = await this.waitFor('a frame', () => {
      const n = completeFrameLength(this.pending)
      if (n !== -1) return n
      if (this.closed) throw new Error(`connection closed with no complete frame (${this.pending.length} bytes unread)`)
      return undefined
    }, timeout)
    const bytes = this.pending.subarray(0, length)
    this.pending = this.pending.subarray(length)
    const [f] = decodeFrames(bytes)
    return { ...f, header: Buffer.from(bytes.subarray(0, length - f.payload.length)) }
  }

  /** Read frames up to and including a close frame; returns them all. */
  async readUntilClose (timeout = DEFAULT_TIMEOUT): Promise<ReceivedFrame[]> {
    const deadline = Date.now() + timeout
    const frames: ReceivedFrame[] = []
    for (;;) {
      const f = await this.readFrame(Math.max(1, deadline - Date.now()))
      frames.push(f)
      if (f.opcode === 0x8) return frames
    }
  }

  /** Read the server's close frame, skipping nothing: the next frame must be a close. */
  async readClose (timeout = DEFAULT_TIMEOUT): Promise<{ code: number | null, reason: string, frame: ReceivedFrame }> {
    const f = await this.readFrame(timeout)
    if (f.opcode !== 0x8) throw new Error(`expected a close frame, got opcode ${f.opcode} (${f.payload.length} bytes)`)
    return {
      code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null,
      reason: f.payload.subarray(2).toString(),
      frame: f
    }
  }

  /** Resolve once the server's FIN arrived. */
  waitServerEnd (timeout = DEFAULT_TIMEOUT): Promise<true> {
    return this.waitFor('the server to close TCP', () => this.serverEnded || undefined, timeout)
  }

  /** Resolve once the socket closed (both directions done, or reset). */
  waitClosed (timeout = DEFAULT_TIMEOUT): Promise<true> {
    return this.waitFor('the TCP connection to close', () => this.closed || undefined, timeout)
  }

  /** Wait `ms` and report whether anything (bytes or TCP events) arrived meanwhile. */
  async quietFor (ms: number): Promise<boolean> {
    const bytes = this.pending.length
    const events = this.events.length
    await new Promise(resolve => setTimeout(resolve, ms))
    return this.pending.length === bytes && this.events.length === events
  }

  destroy (): void {
    this.socket.destroy()
  }
}
