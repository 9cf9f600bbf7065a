// app.injectWS(path, opts): open a WebSocket to the app over an in-memory stream pair, with no
// port, through the same upgrade path as a real connection. Resolves the client socket, or
// rejects with the HTTP status of a refusal.
import { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { duplexPair, type Duplex } from 'node:stream'
import { generateKey, computeAccept } from '../handshake/accept'
import { WebSocket, type SocketContext } from '../socket'
import { wsError } from '../errors'

/** The request side of `app.injectWS(path, context)`. */
export interface InjectWSContext {
  /** request headers (the handshake's own are set by injectWS) */
  headers?: Record<string, string>
  /** subprotocols to offer */
  protocols?: string[]
}

/** `app.injectWS(path, context, hooks)` (as @fastify/websocket's third argument). */
export interface InjectWSHooks {
  /** the client socket, before injectWS resolves and before any message is delivered to it */
  onInit?: (socket: WebSocket) => void
  /** the client socket once open (after onInit, before injectWS resolves) */
  onOpen?: (socket: WebSocket) => void
}

/** Both in one object (the second argument accepts the hooks too). */
export interface InjectWSOptions extends InjectWSContext, InjectWSHooks {}

export class InjectRefusedError extends Error {
  readonly statusCode: number
  readonly headers: Record<string, string>
  readonly body: string
  constructor (statusCode: number, headers: Record<string, string>, body: string) {
    // ws's wording (and @fastify/websocket's): tests compare it
    super(`Unexpected server response: ${statusCode}`)
    this.statusCode = statusCode
    this.headers = headers
    this.body = body
  }
}

const MAX_RESPONSE_HEAD = 16 * 1024
const clientContext: SocketContext = {
  handlers: null,
  onHandlerError (socket, err) { if (socket.listenerCount('error') > 0) socket.emit('error', err) },
  onProtocolError () {},
  maxBackpressure: 64 * 1024 * 1024,
  backpressurePolicy: 'close',
  registry: null
}

export function injectWS (onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  path = '/', context: InjectWSOptions = {}, hooks: InjectWSHooks = {}): Promise<WebSocket> {
  const options: InjectWSOptions = { ...context, ...hooks }
  const [clientSide, serverSide] = duplexPair()
  // An in-memory pair does not share a fate as a TCP connection does: when one side is destroyed
  // (terminate(), a failed handshake) the other must see its connection gone, or app.close()
  // waits out its closeTimeout for a peer that no longer exists.
  clientSide.once('close', () => serverSide.destroy())
  serverSide.once('close', () => clientSide.destroy())
  const key = generateKey()
  const headers: Record<string, string> = {
    host: 'localhost',
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': key
  }
  if (options.protocols !== undefined && options.protocols.length > 0) headers['sec-websocket-protocol'] = options.protocols.join(', ')
  for (const name in options.headers) headers[name.toLowerCase()] = options.headers[name]

  const req = new IncomingMessage(serverSide as unknown as Socket)
  req.method = 'GET'
  req.url = path
  req.httpVersion = '1.1'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  req.headers = headers
  req.rawHeaders = Object.entries(headers).flat()
  req.complete = true
  req.push(null)

  return new Promise<WebSocket>((resolve, reject) => {
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (head.length > MAX_RESPONSE_HEAD) fail(wsError('WS_ERR_CLIENT_HANDSHAKE', 'response head too large'))
        return
      }
      const { status, fields } = parseHead(head.subarray(0, end).toString('latin1'))
      const rest = head.subarray(end + 4)
      if (status !== 101) {
        // the refusal's body follows; collect it until the server closes (without onEnd, which
        // would reject with a handshake error before the refusal is reported)
        cleanup()
        let body = rest
        clientSide.on('data', (c: Buffer) => { body = Buffer.concat([body, c]) })
        clientSide.once('end', () => { clientSide.destroy(); reject(new InjectRefusedError(status, fields, body.toString())) })
        clientSide.resume()
        return
      }
      cleanup()
      if (fields['sec-websocket-accept'] !== computeAccept(key)) {
        clientSide.destroy()
        reject(wsError('WS_ERR_CLIENT_HANDSHAKE', 'Sec-WebSocket-Accept mismatch'))
        return
      }
      const ws = new WebSocket(clientSide, { role: 'client' }, clientContext, fields['sec-websocket-protocol'] ?? '',
        fields['sec-websocket-extensions'] ?? '', null, { head: rest, hold: true, url: path })
      // the socket is open when it is made: onInit then onOpen, both before the promise resolves
      options.onInit?.(ws)
      options.onOpen?.(ws)
      resolve(ws)
      // messages (a welcome sent in open) wait for the caller's listeners after `await injectWS()`
      setImmediate(() => ws._release())
    }
    const onEnd = (): void => fail(wsError('WS_ERR_CLIENT_HANDSHAKE', 'connection closed during the handshake'))
    const cleanup = (): void => {
      clientSide.removeListener('data', onData)
      clientSide.removeListener('end', onEnd)
    }
    const fail = (err: Error): void => {
      cleanup()
      clientSide.destroy()
      reject(err)
    }
    clientSide.on('data', onData)
    clientSide.once('end', onEnd)
    onUpgrade(req, serverSide, Buffer.alloc(0))
  })
}

function parseHead (text: string): { status: number, fields: Record<string, string> } {
  const lines = text.split('\r\n')
  const status = Number(lines[0].split(' ')[1])
  const fields: Record<string, string> = {}
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':')
    if (colon > 0) fields[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim()
  }
  return { status, fields }
}
