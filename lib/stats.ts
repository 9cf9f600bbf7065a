// Always-on counters (issue 14). They must cost next to nothing, so every count is a plain number
// field incremented on a path that already runs: a socket counts its own messages and bytes on
// its Session (no lookup, no allocation per message), and folds them into its route's counters
// when it closes. A route's counters are one object captured when the route is registered and
// reached through the SocketContext every socket already holds. Reading the stats
// (`app.websocketStats()`) does the work instead: it adds up the open sockets.

/**
 * internal, for the bench that measures what observability costs per message
 * (bench/observability-cost.js): FASTIFY_RFC6455_COUNTERS=0 switches off the per-message counters
 * and the per-message channels' `hasSubscribers` checks (message:in/out are then never published).
 * Not an option: always on.
 */
export const COUNTING = process.env.FASTIFY_RFC6455_COUNTERS !== '0'

/** The traffic counters every level shares: a socket, a route, the whole plugin. */
export interface WebSocketTrafficStats {
  /** data messages received (after reassembly and inflation) */
  messagesIn: number
  /** data messages sent: send() calls and broadcast frames queued */
  messagesOut: number
  /** bytes read from the transport, frame headers and control frames included */
  bytesIn: number
  /** bytes handed to the transport, frame headers and control frames included */
  bytesOut: number
  /** bytes permessage-deflate saved on messages received: inflated size minus compressed size */
  compressionSavedIn: number
  /** bytes permessage-deflate saved on messages sent by the socket (broadcast frames compressed once for all are not counted) */
  compressionSavedOut: number
}

/** What one socket has counted (`socket.stats`). */
export interface WebSocketSocketStats extends WebSocketTrafficStats {
  /** bytes queued and not yet handed to the kernel (bufferedAmount) */
  queuedBytes: number
}

/** The counters of one WebSocket route. */
export interface WebSocketRouteStats extends WebSocketTrafficStats {
  /** sockets open now */
  open: number
  /** handshakes completed (101 written) since the start */
  accepted: number
  /** sends refused by the backpressure policy 'drop' */
  backpressureDrops: number
  /** connections failed (1008) by the backpressure policy 'close' */
  backpressureCloses: number
  /** close codes read from peers' close frames ('1005': a close frame without a code) */
  closeCodesReceived: Record<string, number>
  /** close codes we sent in close frames ('1005': a close frame without a code) */
  closeCodesSent: Record<string, number>
  /** bytes queued on this route's open sockets, not yet handed to the kernel */
  queuedBytes: number
}

/** What `app.websocketStats()` returns: the whole plugin, then each route. */
export interface WebSocketStats extends Omit<WebSocketRouteStats, 'accepted'> {
  handshakes: {
    /** handshakes completed with a 101 */
    accepted: number
    /** upgrade requests refused, by HTTP status ('401': 3) */
    refused: Record<string, number>
  }
  /** each WebSocket route by its URL */
  routes: Record<string, WebSocketRouteStats>
  /** this process's subscribers of each topic */
  topics: Record<string, number>
  /** the pub/sub adapter: its constructor's name, and whether it is connected (always true in-process) */
  adapter: { name: string, connected: boolean }
}

/** What a socket's machinery (session.ts) keeps for its counters. */
export interface CountedSocket {
  messagesIn: number
  messagesOut: number
  bytesIn: number
  bytesOut: number
  /** bytes compression saved so far, each way (from the codec's totals) */
  readonly compressionSavedIn: number
  readonly compressionSavedOut: number
  readonly bufferedAmount: number
}

/** A route's counters: one object per route, captured at registration. */
export class RouteCounters {
  open = 0
  accepted = 0
  /** totals of the sockets already closed: open ones are added when the stats are read */
  messagesIn = 0
  messagesOut = 0
  bytesIn = 0
  bytesOut = 0
  compressionSavedIn = 0
  compressionSavedOut = 0
  backpressureDrops = 0
  backpressureCloses = 0
  readonly closeCodesReceived = new Map<number, number>()
  readonly closeCodesSent = new Map<number, number>()

  /** A socket of this route closed: its counts join the route's; `received`/`sent` are 0 for none. */
  closed (socket: CountedSocket, received: number, sent: number): void {
    this.open--
    this.messagesIn += socket.messagesIn
    this.messagesOut += socket.messagesOut
    this.bytesIn += socket.bytesIn
    this.bytesOut += socket.bytesOut
    this.compressionSavedIn += socket.compressionSavedIn
    this.compressionSavedOut += socket.compressionSavedOut
    if (received !== 0) this.closeCodesReceived.set(received, (this.closeCodesReceived.get(received) ?? 0) + 1)
    if (sent !== 0) this.closeCodesSent.set(sent, (this.closeCodesSent.get(sent) ?? 0) + 1)
  }
}

/** The plugin's counters: its routes', and the refusals that happen before a route is known. */
export class PluginCounters {
  readonly routes = new Map<string, RouteCounters[]>()
  /** refused upgrade requests by HTTP status */
  readonly refused = new Map<number, number>()

  /** Counters for a new route at `url`. */
  route (url: string): RouteCounters {
    const counters = new RouteCounters()
    const list = this.routes.get(url)
    if (list === undefined) this.routes.set(url, [counters])
    else list.push(counters) // the same URL with other constraints: reported together
    return counters
  }

  refusal (status: number): void {
    this.refused.set(status, (this.refused.get(status) ?? 0) + 1)
  }
}

/** The counts of one socket now. */
export function socketStats (socket: CountedSocket): WebSocketSocketStats {
  return {
    messagesIn: socket.messagesIn,
    messagesOut: socket.messagesOut,
    bytesIn: socket.bytesIn,
    bytesOut: socket.bytesOut,
    compressionSavedIn: socket.compressionSavedIn,
    compressionSavedOut: socket.compressionSavedOut,
    queuedBytes: socket.bufferedAmount
  }
}

/**
 * Add everything up: each route's closed totals plus its open sockets' counts now. `open` gives
 * each open socket with its route's counters (null for sockets of no route).
 */
export function collectStats (counters: PluginCounters, open: Iterable<[CountedSocket, RouteCounters | null]>,
  topics: Record<string, number>, adapter: WebSocketStats['adapter']): WebSocketStats {
  const live = new Map<RouteCounters, WebSocketRouteStats>()
  const routes: Record<string, WebSocketRouteStats> = {}
  for (const [url, list] of counters.routes) {
    const route = emptyRoute()
    for (const c of list) {
      addRoute(route, c)
      live.set(c, route)
    }
    routes[url] = route
  }
  for (const [socket, c] of open) {
    const route = c === null ? undefined : live.get(c)
    if (route === undefined) continue
    route.messagesIn += socket.messagesIn
    route.messagesOut += socket.messagesOut
    route.bytesIn += socket.bytesIn
    route.bytesOut += socket.bytesOut
    route.compressionSavedIn += socket.compressionSavedIn
    route.compressionSavedOut += socket.compressionSavedOut
    route.queuedBytes += socket.bufferedAmount
  }
  const total = emptyRoute()
  for (const url in routes) sumInto(total, routes[url])
  const { accepted, ...rest } = total
  return {
    ...rest,
    handshakes: { accepted, refused: recordOf(counters.refused) },
    routes,
    topics,
    adapter
  }
}

function emptyRoute (): WebSocketRouteStats {
  return {
    open: 0,
    accepted: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    compressionSavedIn: 0,
    compressionSavedOut: 0,
    backpressureDrops: 0,
    backpressureCloses: 0,
    closeCodesReceived: {},
    closeCodesSent: {},
    queuedBytes: 0
  }
}

/** The counts a route's stats and its counters have alike, summed the same way at every level. */
const SUMMED = ['open', 'accepted', 'messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'compressionSavedIn',
  'compressionSavedOut', 'backpressureDrops', 'backpressureCloses'] as const

function addCounts (into: WebSocketRouteStats, from: Pick<WebSocketRouteStats, typeof SUMMED[number]>): void {
  for (const key of SUMMED) into[key] += from[key]
}

function addRoute (into: WebSocketRouteStats, c: RouteCounters): void {
  addCounts(into, c)
  addCodes(into.closeCodesReceived, recordOf(c.closeCodesReceived))
  addCodes(into.closeCodesSent, recordOf(c.closeCodesSent))
}

function sumInto (into: WebSocketRouteStats, r: WebSocketRouteStats): void {
  addCounts(into, r)
  into.queuedBytes += r.queuedBytes
  addCodes(into.closeCodesReceived, r.closeCodesReceived)
  addCodes(into.closeCodesSent, r.closeCodesSent)
}

function addCodes (into: Record<string, number>, from: Record<string, number>): void {
  for (const code in from) into[code] = (into[code] ?? 0) + from[code]
}

function recordOf (map: ReadonlyMap<number, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of map) out[k] = v
  return out
}
