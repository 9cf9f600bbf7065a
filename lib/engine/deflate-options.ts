// permessage-deflate options (RFC 7692): what a user may set, their defaults and their checks, and
// the parameters a handshake agreed. They live in the engine because the codec (deflate.ts) needs
// them and the engine depends on nothing but errors; the handshake (extensions.ts) imports them.
import { flag, integerIn, invalidOption } from './option-checks'

/**
 * How the server keeps its compressor (names after uWebSockets' SHARED_COMPRESSOR and
 * DEDICATED_COMPRESSOR_xKB).
 * - `'shared'` (default): server_no_context_takeover is negotiated, so every message starts from
 *   an empty window and a few pooled streams compress for every socket of the process (nothing
 *   kept between messages; a published message can be compressed once for all subscribers).
 * - `'borrowed'`: context takeover is kept, but a socket holds a zlib stream only while
 *   it is sending: it borrows one from a process-wide pool for its first message and gives it
 *   back after {@link COMPRESSOR_IDLE_MS} without sending. Its next message then starts from an
 *   empty window, which context takeover allows (the window is the compressor's to use or not).
 * - `'dedicated-…'`: each socket keeps its own stream for good, with a window and memLevel whose
 *   zlib state is about the size named; `'dedicated-256kb'` is the full 15-bit window at memLevel
 *   8 (what `ws` does). Node's zlib keeps a 64 KiB hash table whatever the memLevel (measured:
 *   ~85 KB per socket for the small sizes), so the small sizes save less than their names say.
 */
export type CompressorMode = 'borrowed' | 'shared' | DedicatedCompressor
export type DedicatedCompressor = 'dedicated-3kb' | 'dedicated-4kb' | 'dedicated-8kb' | 'dedicated-16kb' |
'dedicated-32kb' | 'dedicated-64kb' | 'dedicated-128kb' | 'dedicated-256kb'
/**
 * How the server keeps its decompressor. `'shared'`: client_no_context_takeover is asked for (a
 * client MUST comply, RFC 7692 section 7.1.1.2), so inflate streams are pooled as well.
 * `'dedicated'`: the client keeps its context and each socket keeps an inflate stream (its window
 * is 2^client_max_window_bits bytes).
 */
export type DecompressorMode = 'shared' | 'dedicated'

/** zlib deflate state is about 2^(windowBits+2) + 2^(memLevel+9) bytes (zlib.h), hence the names. */
export const DEDICATED_COMPRESSORS: Readonly<Record<DedicatedCompressor, { windowBits: number, memLevel: number }>> = {
  'dedicated-3kb': { windowBits: 9, memLevel: 1 },
  'dedicated-4kb': { windowBits: 9, memLevel: 2 },
  'dedicated-8kb': { windowBits: 10, memLevel: 3 },
  'dedicated-16kb': { windowBits: 11, memLevel: 4 },
  'dedicated-32kb': { windowBits: 12, memLevel: 5 },
  'dedicated-64kb': { windowBits: 13, memLevel: 6 },
  'dedicated-128kb': { windowBits: 14, memLevel: 7 },
  'dedicated-256kb': { windowBits: 15, memLevel: 8 }
}
/** What `perMessageDeflate: true` does on a server (measured with bench/deflate-memory.js). */
export const DEFAULT_COMPRESSOR: CompressorMode = 'shared'
/** A borrowed compressor goes back to the pool after this long (1-2 times it) without a message sent. */
export const COMPRESSOR_IDLE_MS = 1000
export const DEFAULT_DECOMPRESSOR: DecompressorMode = 'shared'

/** User-facing permessage-deflate options (plugin `perMessageDeflate`, client `perMessageDeflate`). */
export interface DeflateOptions {
  /** messages smaller than this many bytes are sent uncompressed; default 1024 */
  threshold?: number
  /**
   * zlib compression level, -1 (zlib default, 6) or 0..9; default 1. Level 1 costs 2-4x less CPU
   * than 6, and zlib's CPU, spent on libuv's small thread pool, is what bounds a busy server; on
   * application-like JSON (bench/lib/json-corpus.js) its output is 1.29-1.35x level 6's with
   * context takeover (level 3: 1.13-1.15x).
   */
  level?: number
  /** zlib memLevel 1..9 (deflate state memory vs. speed); default 8 (or the compressor's) */
  memLevel?: number
  /**
   * Server only: pooled compressors for all sockets without context takeover (`'shared'`, the
   * default), a pooled compressor kept while the socket sends (`'borrowed'`), or one per socket
   * sized by the name (`'dedicated-3kb'` to `'dedicated-256kb'`). See {@link CompressorMode}.
   */
  compressor?: CompressorMode
  /** Server only: pooled inflate streams (`'shared'`, the default) or one per socket (`'dedicated'`). */
  decompressor?: DecompressorMode
  /**
   * server forgets its compression context after each message; on a server, true is
   * `compressor: 'shared'` and false a dedicated compressor. Default: a client does not ask for it
   */
  serverNoContextTakeover?: boolean
  /**
   * client forgets its compression context after each message; on a server, true is
   * `decompressor: 'shared'` and false `'dedicated'`. Default: a client does not offer it
   */
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
  /** what a server negotiates and does (a client ignores it) */
  compressor: 'borrowed' | 'shared' | 'dedicated'
  decompressor: DecompressorMode
  /** as given (a client offers what was given) */
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
  const serverNct = flag('perMessageDeflate.serverNoContextTakeover', o.serverNoContextTakeover, undefined)
  const clientNct = flag('perMessageDeflate.clientNoContextTakeover', o.clientNoContextTakeover, undefined)
  const compressor = compressorOf(o, serverNct)
  const decompressor = decompressorOf(o.decompressor, clientNct)
  const preset = compressor === 'shared' || compressor === 'dedicated' || compressor === 'borrowed' ? undefined : DEDICATED_COMPRESSORS[compressor]
  if (preset !== undefined && (o.memLevel !== undefined || o.serverMaxWindowBits !== undefined)) {
    throw invalidOption(`perMessageDeflate.compressor '${String(o.compressor)}' sets memLevel and serverMaxWindowBits; give one or the other`)
  }
  return {
    threshold: integerIn('perMessageDeflate.threshold', o.threshold, 0, MAX, 1024),
    level: integerIn('perMessageDeflate.level', o.level, -1, 9, 1),
    memLevel: preset?.memLevel ?? integerIn('perMessageDeflate.memLevel', o.memLevel, 1, 9, 8),
    compressor: compressor === 'shared' || compressor === 'borrowed' ? compressor : 'dedicated',
    decompressor,
    serverNoContextTakeover: serverNct ?? false,
    clientNoContextTakeover: clientNct ?? false,
    // the full window is what a client assumes anyway: no server_max_window_bits=15 in the answer
    serverMaxWindowBits: preset !== undefined ? (preset.windowBits < 15 ? preset.windowBits : undefined) : integerIn('perMessageDeflate.serverMaxWindowBits', o.serverMaxWindowBits, 8, 15, undefined),
    clientMaxWindowBits: integerIn('perMessageDeflate.clientMaxWindowBits', o.clientMaxWindowBits, 8, 15, undefined),
    concurrencyLimit: integerIn('perMessageDeflate.concurrencyLimit', o.concurrencyLimit, 1, 1024, 10),
    maxInflatedSize: integerIn('perMessageDeflate.maxInflatedSize', o.maxInflatedSize, 1, MAX, undefined)
  }
}

/** The compressor mode, from `compressor` or (when left out) serverNoContextTakeover; 'dedicated': sized by memLevel and serverMaxWindowBits. */
function compressorOf (o: DeflateOptions, serverNct: boolean | undefined): CompressorMode | 'dedicated' {
  const mode = o.compressor
  if (mode === undefined) return serverNct === undefined ? DEFAULT_COMPRESSOR : serverNct ? 'shared' : 'dedicated'
  if (mode !== 'shared' && mode !== 'borrowed' && !Object.hasOwn(DEDICATED_COMPRESSORS, mode)) {
    throw invalidOption(`perMessageDeflate.compressor must be 'borrowed', 'shared' or one of ${Object.keys(DEDICATED_COMPRESSORS).map(k => `'${k}'`).join(', ')}, got ${String(mode)}`)
  }
  if (serverNct !== undefined && serverNct !== (mode === 'shared')) {
    throw invalidOption(`perMessageDeflate.serverNoContextTakeover: ${String(serverNct)} contradicts compressor '${mode}'`)
  }
  return mode
}

function decompressorOf (mode: DecompressorMode | undefined, clientNct: boolean | undefined): DecompressorMode {
  if (mode === undefined) return clientNct === undefined ? DEFAULT_DECOMPRESSOR : clientNct ? 'shared' : 'dedicated'
  if (mode !== 'shared' && mode !== 'dedicated') throw invalidOption(`perMessageDeflate.decompressor must be 'shared' or 'dedicated', got ${String(mode)}`)
  if (clientNct !== undefined && clientNct !== (mode === 'shared')) {
    throw invalidOption(`perMessageDeflate.clientNoContextTakeover: ${String(clientNct)} contradicts decompressor '${mode}'`)
  }
  return mode
}
