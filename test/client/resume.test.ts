// connectWithRetry({ resume: true }) against an app in another process: it reads each message's
// id, presents the last one per topic when it reconnects, and so receives what was published
// while it was cut off, once each, in order; after the app is killed and restarted (the
// in-process window gone) it is told of the gap. Duplicates are dropped by id.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { once } from 'node:events'
import { connectWithRetry, type ReconnectingWebSocket, type ResumedMessage } from '../../lib/client/index'
import { ResumePositions, readResumeHeader } from '../../lib/client/resume'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'

const SERVER = join(__dirname, '..', 'pubsub', 'fixtures', 'resume-server.js')
const FAST = { minDelay: 20, maxDelay: 100 }

async function start (t: Test, port = 0): Promise<{ peer: PeerProcess, port: number }> {
  const peer = forkPeer(SERVER, { port: String(port) })
  t.teardown(() => peer.stop())
  const ready = await peer.next<{ port: number }>(20_000)
  return { peer, port: ready.port }
}

/** Everything the reconnecting client reports, in order. */
function record (rws: ReconnectingWebSocket): { log: string[], until: (pred: (log: string[]) => boolean) => Promise<void> } {
  const log: string[] = []
  const waiters: Array<[(log: string[]) => boolean, () => void]> = []
  const push = (line: string): void => {
    log.push(line)
    for (const w of waiters.filter(([p]) => p(log))) {
      waiters.splice(waiters.indexOf(w), 1)
      w[1]()
    }
  }
  rws.on('message', (data: Buffer, _isBinary: boolean, resumed?: ResumedMessage) => push(`${resumed?.topic ?? '-'}:${data.toString()}`))
  rws.on('gap', topic => push(`gap:${topic}`))
  rws.on('synced', topic => push(`synced:${topic}`))
  return { log, until: pred => pred(log) ? Promise.resolve() : new Promise(resolve => waiters.push([pred, resolve])) }
}

const count = (prefix: string) => (log: string[]) => log.filter(l => l.startsWith(prefix)).length

t.test('cut off and back: every message published meanwhile arrives once, in order, then live ones', async t => {
  const { peer, port } = await start(t)
  const rws = connectWithRetry(`ws://127.0.0.1:${port}/ws?topics=news`, { resume: true, reconnect: FAST })
  t.teardown(() => rws.close())
  const r = record(rws)
  await r.until(l => count('synced:news')(l) === 1)
  peer.child.send({ publish: { topic: 'news', prefix: 'n', from: 0, count: 3 } })
  await peer.next(20_000)
  await r.until(l => count('news:')(l) === 3)
  const before = rws.positions.get('news')
  t.match(before, /^\d+-\d+$/, 'the last id of news is kept')

  peer.child.send({ drop: { topic: 'news', prefix: 'n', from: 3, count: 5 } })
  await peer.next(20_000)
  await r.until(l => count('synced:news')(l) === 2)
  peer.child.send({ publish: { topic: 'news', prefix: 'n', from: 8, count: 2 } })
  await peer.next(20_000)
  await r.until(l => count('news:')(l) === 10)
  t.same(r.log, ['synced:news', 'news:n0', 'news:n1', 'news:n2', 'news:n3', 'news:n4', 'news:n5', 'news:n6', 'news:n7',
    'synced:news', 'news:n8', 'news:n9'], 'the five missed messages before synced, then live: each once, in order, without the header')
  t.not(rws.positions.get('news'), before)
})

t.test('the app killed and restarted: the client reconnects by itself and is told of the gap', async t => {
  const first = await start(t)
  const rws = connectWithRetry(`ws://127.0.0.1:${first.port}/ws?topics=news`, { resume: true, reconnect: FAST })
  t.teardown(() => rws.close())
  const r = record(rws)
  await r.until(l => count('synced:news')(l) === 1)
  first.peer.child.send({ publish: { topic: 'news', prefix: 'old', from: 0, count: 2 } })
  await first.peer.next(20_000)
  await r.until(l => count('news:')(l) === 2)
  const closed = once(rws, 'close')
  await first.peer.stop()
  await closed
  const second = await start(t, first.port)
  second.peer.child.send({ publish: { topic: 'news', prefix: 'new', from: 0, count: 1 } })
  await second.peer.next(20_000)
  await r.until(l => count('synced:news')(l) === 2)
  t.same(r.log.slice(3), ['gap:news', 'news:new0', 'synced:news'], 'the restarted app lost its window: gap, what it has, synced')
})

t.test('duplicates are dropped by id; gap and synced set the position as the server says', async t => {
  const p = new ResumePositions(2)
  const h = (kind: string, id: string, topic = 't', data = ''): NonNullable<ReturnType<typeof readResumeHeader>> =>
    readResumeHeader(Buffer.from(`\x1e${kind} ${id} ${encodeURIComponent(topic)}\n${data}`))!
  t.equal(p.take(h('m', '5-1')), true)
  t.equal(p.take(h('m', '5-1')), false, 'the same id again: a duplicate')
  t.equal(p.take(h('m', '4-9')), false, 'an older one: a duplicate')
  t.equal(p.take(h('m', '5-10')), true, 'compared as numbers')
  t.equal(p.take(h('g', '3-0')), true)
  t.equal(p.positions.get('t'), '3-0', 'a gap may move the position back (the server forgot newer ids)')
  p.take(h('s', '1-1', 'u'))
  p.take(h('s', '1-1', 'v'))
  t.same([...p.positions.keys()], ['u', 'v'], 'at most maxTopics, the least recently updated forgotten')
  t.same(p.apply('ws://h/ws?a=1&resume=old').searchParams.getAll('resume'), ['1-1:u', '1-1:v'], 'presented as resume=<id>:<topic>')
  t.equal(readResumeHeader(Buffer.from('plain message')), null)
  t.equal(readResumeHeader(Buffer.from('\x1ex 1-1 t\n')), null, 'an unknown kind is a plain message')
  t.same(h('m', '1-1', 'a b/c', 'data').topic, 'a b/c')
})
