// HTTP CONNECT tunnels (RFC 9110 section 9.3.6): the client asks an HTTP proxy for a raw TCP
// connection to host:port, then runs the WebSocket handshake (and TLS, for wss) through it.
import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { wsError } from '../errors'
import { handshakeRefusal, type HandshakeRefusal } from './refusal'
import { basicAuthorization } from './url'

/** A proxy URL checked once, when the options are resolved. */
export interface ProxyTarget {
  readonly host: string
  readonly port: number
  /** Proxy-Authorization from credentials in the proxy URL, if any */
  readonly authorization: string | undefined
  readonly href: string
}

/**
 * Check a proxy URL: only plain `http://host[:port]` proxies (a TLS connection to the proxy
 * itself is not supported). Credentials in the URL become a Basic Proxy-Authorization.
 * @throws WebSocketError WS_ERR_INVALID_OPTION
 */
export function parseProxyUrl (value: string | URL): ProxyTarget {
  let url: URL
  try {
    url = new URL(typeof value === 'string' ? value : value.href)
  } catch {
    throw wsError('WS_ERR_INVALID_OPTION', `proxy ${JSON.stringify(String(value).slice(0, 200))} is not a URL`)
  }
  if (url.protocol !== 'http:') throw wsError('WS_ERR_INVALID_OPTION', `proxy must be an http:// URL, got ${url.protocol}`)
  const bracketed = url.hostname
  return {
    host: bracketed.startsWith('[') ? bracketed.slice(1, -1) : bracketed,
    port: url.port === '' ? 80 : Number(url.port),
    authorization: basicAuthorization(url),
    href: `${url.protocol}//${url.host}`
  }
}

/** Called once: with the tunnel's socket, or with why there is none. */
export type TunnelCallback = (err: Error | null, socket?: Socket) => void

/**
 * Send `CONNECT authority` to the proxy. Any 2xx answer opens the tunnel (RFC 9110 section
 * 9.3.6); anything else is a refusal reported with its status. Returns the request so that the
 * caller can abort it (timeout, AbortSignal): `done` is then never called.
 */
export function openTunnel (proxy: ProxyTarget, authority: string, done: TunnelCallback): ClientRequest {
  const headers: Record<string, string> = { Host: authority }
  if (proxy.authorization !== undefined) headers['Proxy-Authorization'] = proxy.authorization
  const req = request({
    host: proxy.host,
    port: proxy.port,
    method: 'CONNECT',
    path: authority,
    headers,
    setHost: false,
    agent: false
  })
  let settled = false
  const settle = (err: Error | null, socket?: Socket): void => {
    if (settled) return
    settled = true
    done(err, socket)
  }
  req.once('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
    const status = res.statusCode ?? 0
    if (status < 200 || status > 299) {
      socket.destroy()
      settle(proxyRefusal(proxy, authority, res))
      return
    }
    // bytes the proxy relayed after its answer belong to the tunnel: put them back
    if (head.length > 0) socket.unshift(head)
    settle(null, socket)
  })
  // the listener stays after settling: an abort may still raise an error on this request
  req.on('error', err => settle(err))
  req.end()
  return req
}

function proxyRefusal (proxy: ProxyTarget, authority: string, res: IncomingMessage): HandshakeRefusal {
  return handshakeRefusal('WS_ERR_CLIENT_HANDSHAKE', `proxy ${proxy.href} refused CONNECT ${authority} with HTTP ${res.statusCode ?? 0}`, res)
}
