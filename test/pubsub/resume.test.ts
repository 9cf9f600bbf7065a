// Resumable topics on the wire, with the app in another process (the in-process adapter): each
// message carries its id in the documented header, a client coming back with its last id gets
// what it missed in order before live messages, and a gap when the window or a restart lost it.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import WS from 'ws'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'

const SERVER = join(__dirname, 'fixtures', 'resume-server.js')

interface Got { text: string, binary: boolean }

/** A plain ws client that keeps every message, as latin1 text (the header is ASCII). */
async function client (port: number, query: string): Promise<{ ws: WS, got: Got[], count: (n: number) => Promise<void> }> {
  const ws = new WS(`ws://127.0.0.1:${port}/ws?${query}`)
  const got: Got[] = []
  const waiters: Array<[number, () => void]> = []
  ws.on('message', (data: Buffer, binary: boolean) => {
    got.push({ text: data.toString('latin1'), binary })
    for (const w of waiters.filter(([n]) => got.length >= n)) {
      waiters.splice(waiters.indexOf(w), 1)
      w[1]()
    }
  })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  return { ws, got, count: n => got.length >= n ? Promise.resolve() : new Promise(resolve => waiters.push([n, resolve])) }
}

async function start (t: Test, args: Record<string, unknown> = {}): Promise<{ peer: PeerProcess, port: number }> {
  const peer = forkPeer(SERVER, args)
  t.teardown(() => peer.stop())
  const { port } = await peer.next<{ port: number }>(20_000)
  return { peer, port }
}

async function publish (peer: PeerProcess, topic: string, prefix: string, from: number, count: number, binary = false): Promise<void> {
  peer.child.send({ publish: { topic, prefix, from, count, binary } })
  await peer.next(20_000)
}

// after the 0x1E mark
const HEADER = /^([mgs]) (\d+-\d+) ([^ \n]*)\n/

function parse (m: Got): { kind: string, id: string, topic: string, data: string, binary: boolean } {
  const h = m.text.charCodeAt(0) === 0x1e ? HEADER.exec(m.text.slice(1)) : null
  if (h === null) throw new Error(`no resume header: ${JSON.stringify(m.text)}`)
  return { kind: h[1], id: h[2], topic: decodeURIComponent(h[3]), data: m.text.slice(1 + h[0].length), binary: m.binary }
}

function newer (a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number)
  const [bm, bs] = b.split('-').map(Number)
  return am !== bm ? am > bm : as > bs
}

async function closed (ws: WS): Promise<void> {
  ws.close()
  await new Promise(resolve => ws.once('close', resolve))
}

t.test('each message of a resumable topic carries its id in the header; a synced marker comes first', async t => {
  const { peer, port } = await start(t)
  const a = await client(port, 'topics=room%2F1')
  await a.count(1)
  const synced = parse(a.got[0])
  t.match(synced, { kind: 's', topic: 'room/1', data: '' }, 'subscribing afresh: synced at the newest id')
  await publish(peer, 'room/1', 'text', 0, 2)
  await publish(peer, 'room/1', 'bin', 2, 1, true)
  await a.count(4)
  const m = a.got.slice(1).map(parse)
  t.same(m.map(x => [x.kind, x.topic, x.data, x.binary]), [['m', 'room/1', 'text0', false], ['m', 'room/1', 'text1', false], ['m', 'room/1', 'bin2', true]],
    'text stays text, binary stays binary, the data follows the header as published')
  t.ok(newer(m[0].id, synced.id) && newer(m[1].id, m[0].id) && newer(m[2].id, m[1].id), 'ids increase')
  await closed(a.ws)
})

t.test('a client back with its last id gets what it missed, in order, then synced, then live messages', async t => {
  const { peer, port } = await start(t)
  const a = await client(port, 'topics=news,sport')
  await a.count(2)
  await publish(peer, 'news', 'n', 0, 3)
  await a.count(5)
  const last = parse(a.got[4]).id
  await closed(a.ws)

  await publish(peer, 'news', 'n', 3, 5)
  await publish(peer, 'sport', 's', 0, 2)
  // no id for sport (nothing seen of it): it starts from now, without a replay
  const b = await client(port, `topics=news,sport&resume=${encodeURIComponent(`${last}:news`)}`)
  await b.count(7)
  const got = b.got.map(parse)
  t.same(got.slice(0, 6).map(x => [x.kind, x.data]), [['m', 'n3'], ['m', 'n4'], ['m', 'n5'], ['m', 'n6'], ['m', 'n7'], ['s', '']],
    'the five missed messages of news, oldest first, then synced')
  t.equal(got[5].id, got[4].id, 'synced names the newest id')
  t.match(got[6], { kind: 's', topic: 'sport' }, 'sport: synced at once, nothing replayed')
  await publish(peer, 'news', 'n', 8, 1)
  await b.count(8)
  t.match(parse(b.got[7]), { kind: 'm', data: 'n8' }, 'live messages follow')
  t.ok(newer(parse(b.got[7]).id, got[5].id))
  await closed(b.ws)
})

t.test('past the window (maxMessages) the client gets a gap, then what is still held', async t => {
  const { peer, port } = await start(t, { resume: { maxMessages: 3 } })
  const a = await client(port, 'topics=t')
  await a.count(1)
  const last = parse(a.got[0]).id
  await closed(a.ws)
  await publish(peer, 't', 'x', 0, 10)
  const b = await client(port, `topics=t&resume=${encodeURIComponent(`${last}:t`)}`)
  await b.count(5)
  const got = b.got.map(parse)
  t.equal(got[0].kind, 'g', 'a gap first')
  t.same(got.slice(1).map(x => [x.kind, x.data]), [['m', 'x7'], ['m', 'x8'], ['m', 'x9'], ['s', '']], 'the three held, then synced')
  t.ok(newer(got[1].id, got[0].id), 'the gap names the newest id lost: what is held is newer')
  await closed(b.ws)
})

t.test('an id from before a restart gets a gap: the new process cannot know what it missed', async t => {
  const first = await start(t)
  const a = await client(first.port, 'topics=t')
  await a.count(1)
  await publish(first.peer, 't', 'x', 0, 2)
  await a.count(3)
  const last = parse(a.got[2]).id
  const gone = new Promise(resolve => a.ws.once('close', resolve))
  await first.peer.stop()
  await gone
  const second = await start(t)
  await publish(second.peer, 't', 'y', 0, 1)
  const b = await client(second.port, `topics=t&resume=${encodeURIComponent(`${last}:t`)}`)
  await b.count(3)
  t.same(b.got.map(parse).map(x => [x.kind, x.data]), [['g', ''], ['m', 'y0'], ['s', '']], 'gap, the one message of the new process, synced')
  await closed(b.ws)
})

t.test('resume parameters over maxResumeTopics, or malformed, are not trusted: every topic starts with a gap', async t => {
  const { peer, port } = await start(t, { resume: { maxResumeTopics: 2 } })
  const a = await client(port, 'topics=a')
  await a.count(1)
  const id = parse(a.got[0]).id
  await publish(peer, 'a', 'z', 0, 1)
  await a.count(2)
  await closed(a.ws)
  const three = ['a', 'b', 'c'].map(x => `resume=${encodeURIComponent(`${id}:${x}`)}`).join('&')
  const b = await client(port, `topics=a,b&${three}`)
  await b.count(4)
  t.same(b.got.map(parse).map(x => [x.kind, x.topic]), [['g', 'a'], ['s', 'a'], ['g', 'b'], ['s', 'b']], 'three over a bound of two')
  await closed(b.ws)
  const many = Array.from({ length: 450 }, (_, i) => `resume=${id}%3At${i}`).join('&')
  t.ok(many.length > 13_000, `${many.length} bytes of resume parameters`)
  const flood = await client(port, `topics=a&${many}`)
  await flood.count(2)
  t.same(flood.got.map(parse).map(x => x.kind), ['g', 's'], '450 parameters in a URL of 14 KB (just under the 16 KiB header bound): refused, the socket serves on')
  await closed(flood.ws)
  const c = await client(port, 'topics=a&resume=not-an-id:a')
  await c.count(2)
  t.same(c.got.map(parse).map(x => x.kind), ['g', 's'], 'a malformed id')
  await closed(c.ws)
  const d = await client(port, `topics=a&resume=${encodeURIComponent(`${id}:a`)}`)
  await d.count(2)
  t.same(d.got.map(parse).map(x => [x.kind, x.data]), [['m', 'z0'], ['s', '']], 'within the bound: replayed')
  await closed(d.ws)
})

t.test('topics outside resume.topics are sent as published, without a header', async t => {
  const { peer, port } = await start(t, { resumable: 'chat:' })
  const a = await client(port, 'topics=plain,chat:1')
  await a.count(1)
  t.match(parse(a.got[0]), { kind: 's', topic: 'chat:1' }, 'only the resumable topic is synced')
  await publish(peer, 'plain', 'p', 0, 1)
  await publish(peer, 'chat:1', 'c', 0, 1)
  await a.count(3)
  t.same(a.got[1], { text: 'p0', binary: false }, 'plain: as published')
  t.match(parse(a.got[2]), { kind: 'm', topic: 'chat:1', data: 'c0' })
  await closed(a.ws)
})
