// app.injectWS(path, opts): open a WebSocket to the app over an in-memory stream pair, with no
// port, through the same upgrade path as a real connection. Resolves the client socket, or
// rejects with the HTTP status of a refusal.
import { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { duplexPair, type Duplex } from 'node:stream'
import { generateKey } from '../handshake/accept'
import { buildClientRequestHeaders, validateServerHandshake } from '../handshake/client'
import { readResponseHead, type ResponseHead } from '../handshake/response-head'
import {
  deflateExtensions, extensionsForOffer, noExtensions, type ClientExtensionAgreement, type ClientExtensions
} from '../handshake/client-extensions'
import type { DeflateOptions } from '../handshake/extensions'
import { DEFAULT_MAX_PAYLOAD } from '../engine/constants'
import { clientContext } from '../client-context'
import { DEFAULT_MAX_BACKPRESSURE } from '../options'
import { WebSocket } from '../socket'
import { sessionOf } from '../session'
import { wsError } from '../errors'

/** The request side of `app.injectWS(path, context)`. */
export interface InjectWSContext {
  /** request headers (the handshake's own are set by injectWS) */
  headers?: Record<string, string>
  /** subprotocols to offer */
  protocols?: string[]
  /**
   * offer permessage-deflate (RFC 7692), as connect() does: `true` for the defaults, or options.
   * Without it, a Sec-WebSocket-Extensions in `headers` is sent as written and the answer judged
   * against its permessage-deflate element.
   */
  perMessageDeflate?: boolean | DeflateOptions
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

// as a client of connect() with no options: a listener's error closes 1011 and is reported
const injectContext = clientContext({ log: null, maxBackpressure: DEFAULT_MAX_BACKPRESSURE, backpressurePolicy: 'close' })

/** The extension negotiation injectWS does: the option's, else the offer in the headers as written. */
function extensionsOf (options: InjectWSContext): ClientExtensions {
  const deflate = options.perMessageDeflate
  if (deflate !== undefined && deflate !== false) return deflateExtensions(deflate === true ? {} : deflate)
  for (const name in options.headers) {
    if (name.toLowerCase() === 'sec-websocket-extensions') return extensionsForOffer(options.headers[name])
  }
  return noExtensions
}

export function injectWS (onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  path = '/', context: InjectWSOptions = {}, hooks: InjectWSHooks = {}): Promise<WebSocket> {
  const options: InjectWSOptions = { ...context, ...hooks }
  const key = generateKey()
  const protocols = options.protocols ?? []
  let extensions: ClientExtensions
  const headers: Record<string, string | string[]> = { host: 'localhost' }
  try {
    // the same request headers as connect() sends: the handshake's own win over the caller's
    extensions = extensionsOf(options)
    const built = buildClientRequestHeaders({ key, protocols, extensions: extensions.offer(), headers: options.headers })
    for (const name in built) headers[name.toLowerCase()] = built[name]
  } catch (err) {
    return Promise.reject(err)
  }
  const [clientSide, serverSide] = duplexPair()
  // An in-memory pair does not share a fate as a TCP connection does: when one side is destroyed
  // (terminate(), a failed handshake) the other must see its connection gone, or app.close()
  // waits out its closeTimeout for a peer that no longer exists.
  clientSide.once('close', () => serverSide.destroy())
  serverSide.once('close', () => clientSide.destroy())

  const req = new IncomingMessage(serverSide as unknown as Socket)
  req.method = 'GET'
  req.url = path
  req.httpVersion = '1.1'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  req.headers = headers
  req.rawHeaders = Object.entries(headers).flatMap(([name, value]) => typeof value === 'string' ? [name, value] : value.flatMap(v => [name, v]))
  req.complete = true
  req.push(null)

  return new Promise<WebSocket>((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
      let parsed: ResponseHead | null
      try {
        parsed = readResponseHead(head)
      } catch (err) {
        return fail(err as Error)
      }
      if (parsed === null) return
      const { status, fields, rest } = parsed
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
      let protocol: string
      let agreed: ClientExtensionAgreement
      try {
        // RFC 6455 section 4.1: the checks connect() makes of a 101, and its extension negotiation
        const info = validateServerHandshake(status, fields, key, protocols)
        protocol = info.protocol
        agreed = extensions.accept(info.extensions, DEFAULT_MAX_PAYLOAD)
      } catch (err) {
        clientSide.destroy()
        reject(err)
        return
      }
      const ws = new WebSocket(clientSide, { role: 'client', maxPayload: DEFAULT_MAX_PAYLOAD, deflate: agreed.deflate }, injectContext, protocol,
        agreed.header, null, { head: rest, hold: true, url: path })
      // the socket is open when it is made: onInit then onOpen, both before the promise resolves
      options.onInit?.(ws)
      options.onOpen?.(ws)
      resolve(ws)
      // messages (a welcome sent in open) wait for the caller's listeners after `await injectWS()`
      setImmediate(() => sessionOf(ws).release())
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
