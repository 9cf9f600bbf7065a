// maxHttp2WebSockets: over HTTP/2 one connection could open WebSockets without end (Node's
// default SETTINGS_MAX_CONCURRENT_STREAMS is 2^32 - 1); past the bound an extended CONNECT gets
// 429 (WS_ERR_HTTP2_SOCKETS), and a stream that closes frees its place. The peer runs in another
// process; the second test measures what 1,000 CONNECTs on one connection cost the server.
import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import { startApp, waitFor } from '../helpers/app'
import { HEAVY, mb } from '../helpers/attack'
import { startPeer } from '../helpers/h2-peer'

const H2C = { fastify: { http2: true } as FastifyServerOptions }

t.test('past maxHttp2WebSockets on one connection: 429, and a closed stream frees its place', async t => {
  const server = await startApp(t, app => { app.get('/ws', { websocket: { message (s, d) { s.send(d.toString()) } } }) },
    { ...H2C, plugin: { maxHttp2WebSockets: 5 } })
  const peer = await startPeer(t, server.http(''))
  const answers = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(id => peer.open(id, '/ws')))
  t.same(answers.map(a => a.status).sort(), [200, 200, 200, 200, 200, 429, 429])
  const refused = answers.find(a => a.status === 429)
  t.match(JSON.parse(refused?.body ?? ''), { code: 'WS_ERR_HTTP2_SOCKETS', statusCode: 429 })
  const open = answers.filter(a => a.status === 200).map(a => a.id as number)
  peer.command({ op: 'reset', id: open[0] })
  await waitFor(() => server.app.websocketClients.size === 4)
  const again = await peer.open(8, '/ws')
  t.equal(again.status, 200, 'the place of the reset stream is free again')
  peer.send(8, 'still echoing')
  t.equal(await peer.message(8), 'still echoing')
  const other = await startPeer(t, server.http(''))
  t.equal((await other.open(1, '/ws')).status, 200, 'the bound is per connection')
  await t.rejects(Promise.resolve().then(() => startApp(t, () => {}, { ...H2C, plugin: { maxHttp2WebSockets: 0 } })), { code: 'WS_ERR_INVALID_OPTION' })
})

t.test('1,000 extended CONNECTs on one connection: the default bound opens 100, refuses the rest', { timeout: 60_000 }, async t => {
  const N = HEAVY ? 10_000 : 1000
  const server = await startApp(t, app => { app.get('/ws', { websocket: true }, () => {}) }, H2C)
  const peer = await startPeer(t, server.http(''))
  await peer.take(r => r.ev === 'settings', 'settings')
  const before = process.memoryUsage().rss
  let peak = before
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const answers = await Promise.all(Array.from({ length: N }, (_, i) => peer.open(i + 1, '/ws')))
  clearInterval(sample)
  const opened = answers.filter(a => a.status === 200).length
  const refused = answers.filter(a => a.status === 429).length
  const reset = answers.filter(a => a.ev === 'stream-error')
  t.equal(opened, 100)
  t.equal(opened + refused + reset.length, N, 'every other one refused (429) or reset by Node')
  t.comment(`${refused} refused with 429, ${reset.length} reset by Node (${[...new Set(reset.map(r => r.code))].join(', ')})`)
  t.equal(server.app.websocketClients.size, 100)
  t.comment(`${N} CONNECTs on one connection: RSS of the server (and test) process +${mb(peak - before)} MB at the peak`)
})
