// permessage-deflate options (RFC 7692): what a user may set, their defaults and their checks, and
// the parameters a handshake agreed. They live in the engine because the codec (deflate.ts) needs
// them and the engine depends on nothing but errors; the handshake (extensions.ts) imports them.
import { flag, integerIn } from './option-checks'

/** User-facing permessage-deflate options (plugin `perMessageDeflate`, client `perMessageDeflate`). */
export interface DeflateOptions {
  /** messages smaller than this many bytes are sent uncompressed; default 1024 */
  threshold?: number
  /**
   * zlib compression level, -1 (zlib default, 6) or 0..9; default 1. Level 1 compresses typical
   * JSON and text to within ~10-15% of level 6 at 2-4x less CPU, and zlib's CPU, spent on
   * libuv's small thread pool, is what bounds a busy server.
   */
  level?: number
  /** zlib memLevel 1..9 (deflate state memory vs. speed); default 8 */
  memLevel?: number
  /** server forgets its compression context after each message (memory/CPU for ratio); default false */
  serverNoContextTakeover?: boolean
  /** client forgets its compression context after each message; default false */
  clientNoContextTakeover?: boolean
  /** largest LZ77 window (as bits, 8..15) the server compresses with; default: none asked (15) */
  serverMaxWindowBits?: number
  /**
   * largest window (8..15) the client compresses with. A server requires it: offers from
   * clients that cannot limit their window (no `client_max_window_bits` in the offer) are
   * declined. Default: none asked (15)
   */
  clientMaxWindowBits?: number
  /** zlib jobs allowed to run at once, process-wide, per distinct value; default 10 */
  concurrencyLimit?: number
  /** limit on a message's inflated size in bytes, below maxPayload; default: maxPayload alone */
  maxInflatedSize?: number
}

/** DeflateOptions with every default applied and every value validated. */
export interface ResolvedDeflateOptions {
  threshold: number
  level: number
  memLevel: number
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number | undefined
  clientMaxWindowBits: number | undefined
  concurrencyLimit: number
  maxInflatedSize: number | undefined
}

/** What both sides agreed on (RFC 7692 section 7.1); window bits are 15 when not limited. */
export interface NegotiatedDeflate {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number
  clientMaxWindowBits: number
}

const MAX = Number.MAX_SAFE_INTEGER

/**
 * Apply the defaults to `perMessageDeflate: true` or an options object, validating every value.
 * @throws WebSocketError WS_ERR_INVALID_OPTION
 */
export function resolveDeflateOptions (options: DeflateOptions | true = {}): ResolvedDeflateOptions {
  const o: DeflateOptions = options === true ? {} : options
  return {
    threshold: integerIn('perMessageDeflate.threshold', o.threshold, 0, MAX, 1024),
    level: integerIn('perMessageDeflate.level', o.level, -1, 9, 1),
    memLevel: integerIn('perMessageDeflate.memLevel', o.memLevel, 1, 9, 8),
    serverNoContextTakeover: flag('perMessageDeflate.serverNoContextTakeover', o.serverNoContextTakeover, false),
    clientNoContextTakeover: flag('perMessageDeflate.clientNoContextTakeover', o.clientNoContextTakeover, false),
    serverMaxWindowBits: integerIn('perMessageDeflate.serverMaxWindowBits', o.serverMaxWindowBits, 8, 15, undefined),
    clientMaxWindowBits: integerIn('perMessageDeflate.clientMaxWindowBits', o.clientMaxWindowBits, 8, 15, undefined),
    concurrencyLimit: integerIn('perMessageDeflate.concurrencyLimit', o.concurrencyLimit, 1, 1024, 10),
    maxInflatedSize: integerIn('perMessageDeflate.maxInflatedSize', o.maxInflatedSize, 1, MAX, undefined)
  }
}
