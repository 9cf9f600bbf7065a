// The replay paths of Topics (pubsub/topics.ts) with the app in this process and ws clients:
// the in-process window answering at once, and an adapter of the test's own answering later,
// failing, or slower than the socket's output bound. resume.test.ts and redis-resume.test.ts run
// the same protocol with the app in another process; this file covers the branches they reach
// only there.
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { memoryAdapter, type PubSubAdapter } from '../../lib/index'
import type { DeliverFunction, PublishedMessage, ReplayResult } from '../../lib/pubsub/adapter'
import { startApp, closed } from '../helpers/app'

interface Frame { kind: string, id: string, topic: string, data: string }

function parse (raw: Buffer): Frame {
  const end = raw.indexOf(0x0a)
  if (raw[0] !== 0x1e || end === -1) return { kind: '', id: '', topic: '', data: raw.toString() }
  const [kind, id, topic] = raw.toString('latin1', 1, end).split(' ')
  return { kind, id, topic: decodeURIComponent(topic), data: raw.subarray(end + 1).toString() }
}

async function open (t: Test, url: string): Promise<{ ws: WebSocket, got: Frame[] }> {
  const ws = new WebSocket(url)
  const got: Frame[] = []
  ws.on('message', (data: Buffer) => got.push(parse(data)))
  t.teardown(() => ws.terminate())
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  return { ws, got }
}

async function until (check: () => boolean, what: () => string): Promise<void> {
  const end = Date.now() + 20_000
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

t.test('the in-process window: synced alone afresh, what was missed from an id, a gap for refused parameters', async t => {
  const server = await startApp(t, app => {
    app.get('/r', { websocket: true }, socket => { socket.subscribe('room:a') })
  }, { plugin: { pubsub: memoryAdapter({ resume: { topics: topic => topic.startsWith('room:') } }) } })
  const first = await open(t, server.ws('/r'))
  await until(() => first.got.length === 1, () => JSON.stringify(first.got))
  t.equal(first.got[0].kind, 's', 'a fresh subscriber gets the synced marker alone')
  for (const text of ['one', 'two', 'three']) server.app.websocketPublish('room:a', text)
  await until(() => first.got.length === 4, () => JSON.stringify(first.got))
  t.same(first.got.slice(1).map(f => [f.kind, f.data]), [['m', 'one'], ['m', 'two'], ['m', 'three']])
  const after = first.got[1].id
  const again = await open(t, server.ws(`/r?resume=${encodeURIComponent(`${after}:room:a`)}`))
  await until(() => again.got.length === 3, () => JSON.stringify(again.got))
  t.same(again.got.map(f => [f.kind, f.data]), [['m', 'two'], ['m', 'three'], ['s', '']], 'what came after its id, then synced')
  const refused = await open(t, server.ws('/r?resume=nonsense'))
  await until(() => refused.got.length === 2, () => JSON.stringify(refused.got))
  t.same(refused.got.map(f => f.kind), ['g', 's'], 'parameters that cannot be trusted: a gap first')
})

/** An adapter whose replays the test answers by hand. */
function lateAdapter (): PubSubAdapter & { deliver: DeliverFunction, replays: Array<{ topic: string, after: string | null, answer (r: ReplayResult): void, fail (err: Error): void }>, throwNext: boolean } {
  let seq = 0
  const adapter = {
    deliver: (() => {}) as DeliverFunction,
    replays: [] as Array<{ topic: string, after: string | null, answer (r: ReplayResult): void, fail (err: Error): void }>,
    throwNext: false,
    start (deliver: DeliverFunction) { adapter.deliver = deliver },
    publish (m: PublishedMessage) { adapter.deliver({ ...m, id: `1-${++seq}` }) },
    resumable: (topic: string) => topic.startsWith('room:'),
    replay (topic: string, after: string | null): Promise<ReplayResult> {
      if (adapter.throwNext) {
        adapter.throwNext = false
        throw new Error('replay refused at once')
      }
      return new Promise((resolve, reject) => adapter.replays.push({ topic, after, answer: resolve, fail: reject }))
    }
  }
  return adapter
}

t.test('an adapter answering later: live messages wait, a failure or a throw closes 1011, too much waiting closes 1013', async t => {
  const adapter = lateAdapter()
  const server = await startApp(t, app => {
    app.get('/r', { websocket: { maxBackpressure: 64, open (socket) { socket.subscribe('room:a') } } })
  }, { plugin: { pubsub: adapter } })
  // afresh: what is published while the adapter has not answered comes before synced, once
  const fresh = await open(t, server.ws('/r'))
  await until(() => adapter.replays.length === 1, () => 'no replay asked')
  server.app.websocketPublish('room:a', 'early')
  adapter.replays[0].answer({ last: '1-1', gap: null, messages: [] })
  server.app.websocketPublish('room:a', 'live')
  await until(() => fresh.got.length === 3, () => JSON.stringify(fresh.got))
  t.same(fresh.got.map(f => [f.kind, f.data]), [['m', 'early'], ['s', ''], ['m', 'live']])

  // from an id: the replay covers up to its `last`; waiting messages past it follow, after a gap
  const resumed = await open(t, server.ws(`/r?resume=${encodeURIComponent('1-1:room:a')}`))
  await until(() => adapter.replays.length === 2, () => 'no second replay')
  server.app.websocketPublish('room:a', 'while waiting')
  adapter.replays[1].answer({ last: '1-2', gap: '1-1', messages: [{ id: '1-2', data: Buffer.from('live'), binary: false }] })
  await until(() => resumed.got.length === 4, () => JSON.stringify(resumed.got))
  t.same(resumed.got.map(f => [f.kind, f.data]), [['g', ''], ['m', 'live'], ['s', ''], ['m', 'while waiting']])

  const failing = await open(t, server.ws('/r'))
  await until(() => adapter.replays.length === 3, () => 'no third replay')
  adapter.replays[2].fail(new Error('stream read failed'))
  t.equal((await closed(failing.ws)).code, 1011, 'a failed replay: 1011, to resume later')

  adapter.throwNext = true
  const thrown = await open(t, server.ws('/r'))
  t.equal((await closed(thrown.ws)).code, 1011, 'a replay that throws: 1011 too')

  const slow = await open(t, server.ws('/r'))
  await until(() => adapter.replays.length === 4, () => 'no fourth replay')
  server.app.websocketPublish('room:a', 'x'.repeat(100))
  t.equal((await closed(slow.ws)).code, 1013, 'live messages past maxBackpressure while waiting: 1013')
  adapter.replays[3].answer({ last: '1-9', gap: null, messages: [] }) // too late: nobody waits
})
