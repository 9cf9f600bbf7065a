// Test helpers for the plugin over real sockets: a Fastify app with the plugin listening on
// 127.0.0.1 (closed in t.teardown), `ws` clients, raw HTTP upgrade requests, captured logs, and
// event waits that always give up after a bounded time so a broken server fails a test instead
// of hanging the suite.
import type { Test } from 'tap'
import type { EventEmitter } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import WS from 'ws'
import websocket, { type WebSocketPluginOptions } from '../../lib/index'

export const WAIT_MS = 5000

export interface TestApp {
  app: FastifyInstance
  port: number
  /** `ws://127.0.0.1:port` + path */
  ws (path: string): string
  /** `http://127.0.0.1:port` + path */
  http (path: string): string
}

export interface AppOptions {
  plugin?: WebSocketPluginOptions
  fastify?: FastifyServerOptions
  /** register the plugin (default true) */
  register?: boolean
  /** close the app in t.teardown (default true) */
  teardown?: boolean
}

/** Build an app with the plugin, let `setup` declare routes, listen on 127.0.0.1:0. */
export async function startApp (t: Test, setup: (app: FastifyInstance) => unknown, options: AppOptions = {}): Promise<TestApp> {
  const app = Fastify(options.fastify ?? {})
  if (options.teardown !== false) t.teardown(() => app.close())
  if (options.register !== false) await app.register(websocket, options.plugin ?? {})
  await setup(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return {
    app,
    port,
    ws: path => `ws://127.0.0.1:${port}${path}`,
    http: path => `http://127.0.0.1:${port}${path}`
  }
}

export interface CapturedLogs {
  stream: Writable
  lines: Array<Record<string, unknown> & { msg?: string, level: number }>
  /** messages of every line, for `t.notMatch`-style checks */
  text (): string
}

/** A pino destination that keeps every line parsed: pass `{ logger: { stream, level } }` to Fastify. */
export function captureLogs (): CapturedLogs {
  const lines: CapturedLogs['lines'] = []
  let partial = ''
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      partial += chunk.toString()
      let nl
      while ((nl = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, nl)
        partial = partial.slice(nl + 1)
        if (line.trim() !== '') lines.push(JSON.parse(line))
      }
      cb()
    }
  })
  return { stream, lines, text: () => lines.map(l => JSON.stringify(l)).join('\n') }
}

/** Resolve with the event's arguments, or reject after `ms`. */
export function waitEvent<T extends unknown[] = unknown[]> (emitter: EventEmitter, event: string, ms = WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, listener)
      reject(new Error(`no '${event}' event within ${ms} ms`))
    }, ms)
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer)
      resolve(args as T)
    }
    emitter.once(event, listener)
  })
}

/** Poll `condition` every 10 ms until true, or reject after `ms`. */
export async function waitFor (condition: () => boolean, ms = WAIT_MS, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`)
    await sleep(10)
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Open a `ws` client; rejects on an error, an HTTP refusal or after `ms`. */
export function openWs (url: string, protocols?: string | string[], options: WS.ClientOptions = {}, ms = WAIT_MS): Promise<WS> {
  return new Promise((resolve, reject) => {
    const client = new WS(url, protocols, options)
    const timer = setTimeout(() => { client.terminate(); reject(new Error(`no open within ${ms} ms`)) }, ms)
    client.once('open', () => { clearTimeout(timer); resolve(client) })
    client.once('error', err => { clearTimeout(timer); reject(err) })
    client.once('unexpected-response', (_req, res) => {
      clearTimeout(timer)
      client.terminate()
      reject(new Error(`HTTP ${String(res.statusCode)}`))
    })
  })
}

/** Collect the next `n` messages of a `ws` client (strings for text, Buffers for binary). */
export function messages (client: WS, n: number, ms = WAIT_MS): Promise<Array<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const got: Array<string | Buffer> = []
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage)
      reject(new Error(`got ${got.length} of ${n} messages within ${ms} ms`))
    }, ms)
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push(isBinary ? data : data.toString())
      if (got.length === n) {
        clearTimeout(timer)
        client.removeListener('message', onMessage)
        resolve(got)
      }
    }
    client.on('message', onMessage)
  })
}

/** The client's close code and reason, as a string. */
export async function closed (client: WS, ms = WAIT_MS): Promise<{ code: number, reason: string }> {
  if (client.readyState === WS.CLOSED) throw new Error('already closed')
  const [code, reason] = await waitEvent<[number, Buffer]>(client, 'close', ms)
  return { code, reason: reason.toString() }
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** the raw bytes received before the server closed the connection */
  raw: string
}

/**
 * Send an HTTP request (by default a valid upgrade) over a raw socket and read everything until
 * the server closes the connection: a refusal must close it, so this also proves the close.
 */
export function rawRequest (port: number, path: string, headers: Record<string, string> = {}, options: { method?: string, upgrade?: boolean, ms?: number } = {}): Promise<RawResponse> {
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    ...(options.upgrade === false
      ? {}
      : { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }),
    ...headers
  }
  const head = `${options.method ?? 'GET'} ${path} HTTP/1.1\r\n` +
    Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n'
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const ms = options.ms ?? WAIT_MS
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`server did not close the connection within ${ms} ms`)) }, ms)
    socket.on('data', c => chunks.push(c))
    socket.on('error', err => { clearTimeout(timer); reject(err) })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parseResponse(Buffer.concat(chunks).toString('latin1')))
    })
    socket.write(head)
  })
}

export function parseResponse (raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  const headText = end === -1 ? raw : raw.slice(0, end)
  const lines = headText.split('\r\n')
  const status = Number(lines[0].split(' ')[1])
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = end === -1 ? '' : raw.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body)
  return { status, headers, body, raw }
}

function unchunk (body: string): string {
  let out = ''
  let rest = body
  for (;;) {
    const nl = rest.indexOf('\r\n')
    if (nl === -1) return out
    const size = parseInt(rest.slice(0, nl), 16)
    if (!(size > 0)) return out
    out += rest.slice(nl + 2, nl + 2 + size)
    rest = rest.slice(nl + 2 + size + 2)
  }
}

/** A `ws` client's refused handshake: status, headers and body of the HTTP response. */
export function refusedWs (url: string, protocols?: string | string[], options: WS.ClientOptions = {}, ms = WAIT_MS): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const client = new WS(url, protocols, options)
    const timer = setTimeout(() => { client.terminate(); reject(new Error(`no response within ${ms} ms`)) }, ms)
    client.once('open', () => { clearTimeout(timer); client.terminate(); reject(new Error('the upgrade was accepted')) })
    client.once('error', () => {})
    client.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        clearTimeout(timer)
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : String(v)
        const body = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode ?? 0, headers, body, raw: body })
        client.terminate()
      })
    })
  })
}

/**
 * Open a raw upgrade: resolve with the parsed response head and the socket once the head has
 * arrived (the socket stays open; destroy it in the test). Bytes after the head are in `rest`.
 */
export function rawUpgrade (port: number, path: string, headers: Record<string, string> = {}, ms = WAIT_MS): Promise<{ response: RawResponse, socket: Socket, rest: Buffer }> {
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers
  }
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no response head within ${ms} ms`)) }, ms)
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.pause()
      resolve({ response: parseResponse(buf.subarray(0, end + 4).toString('latin1')), socket, rest: buf.subarray(end + 4) })
    }
    socket.on('data', onData)
    socket.once('error', err => { clearTimeout(timer); reject(err) })
    socket.write(`GET ${path} HTTP/1.1\r\n` + Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n')
  })
}

export interface InteropServer extends TestApp {
  /** close codes and reasons the server saw, in order */
  serverCloses: Array<{ code: number, reason: string }>
}

/** Routes the client interop tests share: echo, subprotocols, closing with a code, pinging. */
export function startInteropServer (t: Test, plugin: WebSocketPluginOptions = {}): Promise<InteropServer> {
  const serverCloses: InteropServer['serverCloses'] = []
  return startApp(t, app => {
    app.get('/echo', {
      websocket: {
        message (socket, data, isBinary) { socket.send(data, { binary: isBinary }) },
        close (_socket, code, reason) { serverCloses.push({ code, reason: reason.toString() }) }
      }
    })
    app.get('/proto', { websocket: { protocols: ['chat.v2', 'chat.v1'], open (socket) { socket.send(`protocol:${socket.protocol}`) } } })
    app.get('/close', { websocket: { message (socket, data) { socket.close(4001, data.toString()) } } })
    app.get('/ping', {
      websocket: {
        open (socket) {
          socket.ping(Buffer.from('are you there'), (err, rtt) => {
            socket.send(err === null ? `rtt:${String(rtt)}` : `error:${err.message}`)
          })
        }
      }
    })
  }, { plugin }).then(server => ({ ...server, serverCloses }))
}

/** `n` bytes of UTF-8 text with two-byte characters in it. */
export function textOfBytes (n: number): string {
  const wide = Math.floor(n / 4)
  return 'é'.repeat(wide) + 'x'.repeat(n - 2 * wide)
}

/** `n` bytes that are not all the same, so a shifted or truncated echo cannot pass. */
export function binaryOfBytes (n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff
  return b
}

export const INTEROP_SIZES = [0, 125, 126, 65535, 65536, 1 << 20]

/** Two ends of a real TCP connection on 127.0.0.1: [accepted (server side), connecting (client side)]. */
export async function tcpPair (t: Test): Promise<[Socket, Socket]> {
  const listener = createServer()
  await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
  t.teardown(() => listener.close())
  const accepted = waitEvent<[Socket]>(listener, 'connection')
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1')
  await waitEvent(client, 'connect')
  const [server] = await accepted
  t.teardown(() => { server.destroy(); client.destroy() })
  return [server, client]
}

/** Register the plugin with `opts` and resolve the error ready() rejects with (null if none). */
export async function registrationError (opts: unknown): Promise<unknown> {
  const app = Fastify()
  app.register(websocket, opts as WebSocketPluginOptions)
  try {
    await app.ready()
    return null
  } catch (err) {
    return err
  } finally {
    await app.close().catch(() => {})
  }
}
