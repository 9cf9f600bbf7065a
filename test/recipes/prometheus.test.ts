// The Prometheus recipe (examples/prometheus.js, shown in the README): GET /metrics over a real
// app after real traffic from a `ws` peer in another process; the text is checked line by line
// against the exposition format (HELP and TYPE before each family's samples, escaped labels).
import t from 'tap'
import { startApp, waitFor } from '../helpers/app'
import { startWsPeer } from '../helpers/ws-peer'

const { metricsRoute } = require('../../examples/prometheus.js') as { metricsRoute: (app: unknown) => Promise<void> }

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*",?)*\})? (-?[0-9.e+]+)$/

/** Parse the text format strictly: every sample's family was declared, each at most once. */
function parse (text: string): Map<string, number> {
  const types = new Map<string, string>()
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line)
    if (type !== null) {
      if (types.has(type[1])) throw new Error(`family ${type[1]} declared twice`)
      types.set(type[1], type[2])
      continue
    }
    if (line.startsWith('# HELP ')) continue
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
    const kind = types.get(m[1])
    if (kind === undefined) throw new Error(`sample of an undeclared family: ${line}`)
    if (kind === 'counter' && !m[1].endsWith('_total')) throw new Error(`counter without _total: ${m[1]}`)
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]))
  }
  return samples
}

t.test('GET /metrics serves the counters in Prometheus text format', async t => {
  const { app, ws, http } = await startApp(t, async a => {
    await metricsRoute(a)
    a.get('/echo', { websocket: true }, socket => {
      socket.subscribe('room "1"\\x')
      socket.on('message', data => socket.send(data))
    })
    a.get('/private', { websocket: true, onRequest: async (_req, reply) => { await reply.code(401).send() } }, () => {})
  })
  const peer = await startWsPeer(t)
  await peer.ask({ cmd: 'open', name: 'a', url: ws('/echo') })
  await peer.ask({ cmd: 'send', name: 'a', count: 3, size: 10 })
  await peer.ask({ cmd: 'received', name: 'a', count: 3 })
  t.same(await peer.ask({ cmd: 'open', name: 'x', url: ws('/private') }), { refused: 401 })
  await peer.ask({ cmd: 'open', name: 'b', url: ws('/echo') })
  await peer.ask({ cmd: 'close', name: 'b', code: 1000 })
  await waitFor(() => app.websocketStats().open === 1, 5000, 'one socket left')

  const res = await fetch(http('/metrics'))
  t.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8', 'the text format\'s content type')
  const text = await res.text()
  const samples = parse(text)
  const expected: Record<string, number> = {
    'websocket_connections_open{route="/echo"}': 1,
    'websocket_handshakes_accepted_total{route="/echo"}': 2,
    'websocket_handshakes_refused_total{status="401"}': 1,
    'websocket_messages_total{route="/echo",direction="in"}': 3,
    'websocket_messages_total{route="/echo",direction="out"}': 3,
    'websocket_bytes_total{route="/echo",direction="in"}': 3 * 16 + 8,
    'websocket_bytes_total{route="/echo",direction="out"}': 3 * 12 + 4,
    'websocket_close_codes_total{route="/echo",direction="received",code="1000"}': 1,
    'websocket_close_codes_total{route="/echo",direction="sent",code="1000"}': 1,
    'websocket_backpressure_total{route="/echo",action="drop"}': 0,
    'websocket_topic_subscribers{topic="room \\"1\\"\\\\x"}': 1,
    'websocket_pubsub_adapter_connected{adapter="MemoryAdapter"}': 1
  }
  for (const [series, value] of Object.entries(expected)) t.equal(samples.get(series), value, series)
  t.comment(text.split('\n').filter(l => !l.startsWith('#')).slice(0, 8).join('\n'))
})
