// The counters of app.websocketStats() in Prometheus's text exposition format (version 0.0.4),
// with no dependency: serve it from a /metrics route (README, "Observability"). Counters end in
// _total; per-route series carry a `route` label, close codes a `code` label.
import type { WebSocketStats, WebSocketRouteStats } from './stats'

export interface PrometheusTextOptions {
  /** prepended to every metric name (default 'websocket_') */
  prefix?: string
}

/** The content type of the text format, for the route's reply. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

type Labels = Record<string, string>

class Exposition {
  private out = ''
  constructor (private readonly prefix: string) {}

  family (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): void {
    const full = this.prefix + name
    this.out += `# HELP ${full} ${help}\n# TYPE ${full} ${type}\n`
    for (const [labels, value] of samples) this.out += `${full}${labelText(labels)} ${value}\n`
  }

  text (): string { return this.out }
}

/** `stats` (from app.websocketStats()) in Prometheus's text format. */
export function prometheusText (stats: WebSocketStats, options: PrometheusTextOptions = {}): string {
  const e = new Exposition(options.prefix ?? 'websocket_')
  const routes = Object.entries(stats.routes)
  const perRoute = (pick: (r: WebSocketRouteStats) => number, extra: Labels = {}): Array<[Labels, number]> =>
    routes.map(([route, r]) => [{ route, ...extra }, pick(r)])
  e.family('connections_open', 'gauge', 'WebSocket connections open now', perRoute(r => r.open))
  e.family('handshakes_accepted_total', 'counter', 'Handshakes completed with a 101', perRoute(r => r.accepted))
  e.family('handshakes_refused_total', 'counter', 'Upgrade requests refused, by HTTP status',
    Object.entries(stats.handshakes.refused).map(([status, n]) => [{ status }, n]))
  e.family('messages_total', 'counter', 'Data messages received (in) and queued to send (out)',
    [...perRoute(r => r.messagesIn, { direction: 'in' }), ...perRoute(r => r.messagesOut, { direction: 'out' })])
  e.family('bytes_total', 'counter', 'Bytes read from and handed to the transport, frame headers included',
    [...perRoute(r => r.bytesIn, { direction: 'in' }), ...perRoute(r => r.bytesOut, { direction: 'out' })])
  e.family('compression_saved_bytes_total', 'counter', 'Bytes permessage-deflate saved',
    [...perRoute(r => r.compressionSavedIn, { direction: 'in' }), ...perRoute(r => r.compressionSavedOut, { direction: 'out' })])
  const codes: Array<[Labels, number]> = []
  for (const [route, r] of routes) {
    for (const code in r.closeCodesReceived) codes.push([{ route, direction: 'received', code }, r.closeCodesReceived[code]])
    for (const code in r.closeCodesSent) codes.push([{ route, direction: 'sent', code }, r.closeCodesSent[code]])
  }
  e.family('close_codes_total', 'counter', 'Close codes of the close frames received and sent', codes)
  e.family('backpressure_total', 'counter', 'Sends past maxBackpressure, by the action the policy took',
    [...perRoute(r => r.backpressureDrops, { action: 'drop' }), ...perRoute(r => r.backpressureCloses, { action: 'close' })])
  e.family('queued_bytes', 'gauge', 'Bytes queued on open sockets, not yet handed to the kernel', perRoute(r => r.queuedBytes))
  e.family('topic_subscribers', 'gauge', 'Subscribers of each topic in this process',
    Object.entries(stats.topics).map(([topic, n]) => [{ topic }, n]))
  e.family('pubsub_adapter_connected', 'gauge', '1 when the pub/sub adapter is connected',
    [[{ adapter: stats.adapter.name }, stats.adapter.connected ? 1 : 0]])
  return e.text()
}

function labelText (labels: Labels): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return '{' + keys.map(k => `${k}="${escapeLabel(labels[k])}"`).join(',') + '}'
}

/** The text format escapes backslash, double quote and line feed in label values. */
function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
