// connect() options: public types, defaults and validation, resolved once per connect() call.
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { ClientHttp2Session } from 'node:http2'
import type { ConnectionOptions } from '../engine/connection-options'
import { integerIn, invalidOption, positive } from '../engine/option-checks'
import { buildClientRequestHeaders } from '../handshake/client'
import type { HeaderFieldValue } from '../handshake/response'
import { resolveOptions, DEFAULT_HANDSHAKE_TIMEOUT, type WebSocketSharedOptions } from '../options'
import type { BackpressurePolicy, Logger } from '../socket'
import { noExtensions, deflateExtensions, type ClientExtensions } from '../handshake/client-extensions'
import type { DeflateOptions } from '../handshake/extensions'
import { parseProxyUrl, type ProxyTarget } from './proxy'

/** TLS settings for wss://, passed to `tls.connect()` as they are. */
export type ClientTlsOptions = Pick<TlsConnectionOptions,
  'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'rejectUnauthorized' | 'servername' | 'checkServerIdentity' |
  'minVersion' | 'maxVersion' | 'ciphers'>

export interface ClientOptions extends ClientTlsOptions,
  Pick<WebSocketSharedOptions, 'maxPayload' | 'heartbeat' | 'autoPong' | 'closeTimeout' | 'maxBackpressure' | 'backpressurePolicy' |
  'maxFragments' | 'maxPendingAutoPongs'> {
  /** subprotocols to offer, in order of preference */
  protocols?: string | readonly string[]
  /** extra request headers (Authorization, Cookie, User-Agent...); the handshake's own are ignored */
  headers?: Readonly<Record<string, HeaderFieldValue | undefined>>
  /** the Origin header to send */
  origin?: string
  /** ms the whole opening (proxy tunnel, TLS, redirects, handshake) may take (default 10000) */
  handshakeTimeout?: number
  /** 3xx redirects to follow (default 0: a redirect fails with WS_ERR_CLIENT_REDIRECTS) */
  maxRedirects?: number
  /** an `http://[user:pass@]host:port` proxy to tunnel through with CONNECT */
  proxy?: string | URL
  /** aborts the opening; connect() then rejects with the signal's reason */
  signal?: AbortSignal
  /** logger for the socket (`socket.log`) and for errors thrown by listeners */
  log?: Logger
  /** offer permessage-deflate (RFC 7692): off by default; `true` for the defaults, or options */
  perMessageDeflate?: boolean | DeflateOptions
  /** read into one buffer shared by every connection (default true; see the plugin's option) */
  sharedReads?: boolean
  /**
   * open the WebSocket on an HTTP/2 stream (RFC 8441): `true` for a connection of its own
   * (falling back to HTTP/1.1 where the server has no WebSockets over HTTP/2), or a
   * ClientHttp2Session (node:http2 `connect()`) to share
   */
  http2?: boolean | ClientHttp2Session
}

/** Everything connect() needs, validated. */
export interface ResolvedClientOptions {
  protocols: readonly string[]
  headers: Readonly<Record<string, HeaderFieldValue | undefined>>
  origin: string | undefined
  handshakeTimeout: number
  maxRedirects: number
  proxy: ProxyTarget | null
  tls: ClientTlsOptions
  signal: AbortSignal | undefined
  log: Logger | null
  /** engine settings for the socket (role client), without the extension codec */
  connection: ConnectionOptions
  maxBackpressure: number
  backpressurePolicy: BackpressurePolicy
  /** extension negotiation: permessage-deflate when asked for, else none */
  extensions: ClientExtensions
  sharedReads: boolean
  http2: boolean | ClientHttp2Session
}

const TLS_KEYS = ['ca', 'cert', 'key', 'passphrase', 'pfx', 'rejectUnauthorized', 'servername', 'checkServerIdentity',
  'minVersion', 'maxVersion', 'ciphers'] as const

/** @throws WebSocketError WS_ERR_INVALID_OPTION, WS_ERR_INVALID_HEADER */
export function resolveClientOptions (options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options must be an object')
  const shared = resolveOptions({
    maxPayload: options.maxPayload,
    heartbeat: options.heartbeat,
    autoPong: options.autoPong,
    closeTimeout: options.closeTimeout,
    maxBackpressure: options.maxBackpressure,
    backpressurePolicy: options.backpressurePolicy,
    maxFragments: options.maxFragments,
    maxPendingAutoPongs: options.maxPendingAutoPongs
  })
  const handshakeTimeout = positive('handshakeTimeout', options.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT)
  const maxRedirects = integerIn('maxRedirects', options.maxRedirects, 0, Number.MAX_SAFE_INTEGER, 0)
  const protocols = typeof options.protocols === 'string' ? [options.protocols] : (options.protocols ?? [])
  // refuse bad header values and subprotocols now, before any connection is opened (the
  // request headers are rebuilt with a fresh key for every attempt)
  buildClientRequestHeaders({ key: 'x', protocols, headers: options.headers, origin: options.origin })
  const http2 = options.http2 ?? false
  if (typeof http2 !== 'boolean' && (typeof http2 !== 'object' || http2 === null || typeof http2.request !== 'function')) {
    throw invalidOption('http2 must be a boolean or a ClientHttp2Session')
  }
  if (http2 !== false && options.proxy !== undefined) throw invalidOption('http2 and proxy cannot be combined')
  const tls: Record<string, unknown> = {}
  for (const key of TLS_KEYS) if (options[key] !== undefined) tls[key] = options[key]
  return {
    protocols,
    headers: options.headers ?? {},
    origin: options.origin,
    handshakeTimeout,
    maxRedirects,
    proxy: options.proxy === undefined ? null : parseProxyUrl(options.proxy),
    tls: tls as ClientTlsOptions,
    signal: options.signal,
    log: options.log ?? null,
    connection: {
      role: 'client',
      maxPayload: shared.maxPayload,
      autoPong: shared.autoPong,
      closeTimeout: shared.closeTimeout,
      heartbeatInterval: shared.heartbeatInterval,
      pongTimeout: shared.pongTimeout,
      maxFragments: shared.maxFragments,
      maxPendingAutoPongs: shared.maxPendingAutoPongs,
      dropExcessPongs: shared.backpressurePolicy === 'drop'
    },
    maxBackpressure: shared.maxBackpressure,
    backpressurePolicy: shared.backpressurePolicy,
    sharedReads: options.sharedReads !== false,
    http2,
    extensions: options.perMessageDeflate === undefined || options.perMessageDeflate === false
      ? noExtensions
      : deflateExtensions(options.perMessageDeflate === true ? {} : options.perMessageDeflate)
  }
}
