// The in-process replay window keeps its bounds (messages per topic, age, bytes of all topics,
// topics remembered), and whatever it lets go turns into a gap for a client older than it, never
// into a silent skip. The clock is passed in, so nothing here waits.
import t from 'tap'
import { ReplayWindow, resolveResume } from '../../lib/pubsub/replay-window'
import { compareIds, IdClock, parseResume } from '../../lib/pubsub/resume'

// ahead of the real clock, which the window's clock starts from
const T0 = Date.now() + 60_000

function windowOf (o = {}): ReplayWindow {
  return new ReplayWindow(resolveResume('test', o))
}

function data (r: ReturnType<ReplayWindow['replay']>): string[] {
  return r.messages.map(m => m.data.toString())
}

t.test('the clock gives ids that increase even when the time steps back', async t => {
  const clock = new IdClock(T0)
  const a = clock.next(T0)
  const b = clock.next(T0)
  const c = clock.next(T0 - 5000)
  const d = clock.next(T0 + 1)
  t.same([a, b, c, d], [`${T0}-1`, `${T0}-2`, `${T0}-3`, `${T0 + 1}-1`])
  t.ok(compareIds(c, b) > 0 && compareIds(d, c) > 0)
  t.ok(compareIds(`${T0}-10`, `${T0}-9`) > 0, 'compared as numbers, not as text')
})

t.test('maxMessages: a topic holds its newest N; an older client gets a gap at the newest lost', async t => {
  const w = windowOf({ maxMessages: 3 })
  const ids = Array.from({ length: 5 }, (_, i) => w.add('t', Buffer.from(`m${i}`), false, T0 + i))
  const r = w.replay('t', ids[0], T0 + 10)
  t.equal(r.gap, ids[1], 'm1 is lost: the client, at m0, missed it')
  t.same(data(r), ['m2', 'm3', 'm4'])
  t.equal(r.last, ids[4])
  const fine = w.replay('t', ids[1], T0 + 10)
  t.equal(fine.gap, null, 'a client at the newest lost id missed nothing that is gone')
  t.same(data(fine), ['m2', 'm3', 'm4'])
  t.same(data(w.replay('t', ids[4], T0 + 10)), [], 'up to date: nothing')
  t.same(w.replay('t', null, T0 + 10), { last: ids[4], gap: null, messages: [] }, 'afresh: only the newest id')
})

t.test('maxAge: messages older than it leave the window, at publish or at replay', async t => {
  const w = windowOf({ maxAge: 1000 })
  const a = w.add('t', Buffer.from('old'), false, T0)
  const b = w.add('t', Buffer.from('new'), false, T0 + 900)
  const r = w.replay('t', `${T0 - 1}-0`, T0 + 1500)
  t.equal(r.gap, a)
  t.same(data(r), ['new'])
  t.equal(w.heldBytes, 3, 'the old message no longer counts')
  t.equal(w.replay('t', b, T0 + 5000).gap, null, 'an up-to-date client after everything expired: no gap')
  t.equal(w.heldBytes, 0)
})

t.test('maxBytes bounds all topics together, the oldest message going first', async t => {
  const w = windowOf({ maxBytes: 10 })
  const a = w.add('a', Buffer.alloc(4), false, T0)
  w.add('b', Buffer.alloc(4), false, T0)
  w.add('a', Buffer.alloc(4), false, T0)
  t.equal(w.heldBytes, 8, 'the first message of a left to make room')
  t.equal(w.replay('a', `${T0 - 1}-0`, T0).gap, a)
  w.add('c', Buffer.alloc(11), false, T0)
  t.equal(w.heldBytes, 0, 'a message larger than the bound is not held at all (nor anything before it)')
})

t.test('maxTopics: the least recently published topic is forgotten; its clients get a gap', async t => {
  const w = windowOf({ maxTopics: 2 })
  const a = w.add('a', Buffer.from('a'), false, T0)
  const b = w.add('b', Buffer.from('b'), false, T0)
  const b2 = w.add('b', Buffer.from('b2'), false, T0)
  w.add('a', Buffer.from('a2'), false, T0)
  w.add('c', Buffer.from('c'), false, T0)
  t.equal(w.replay('b', b, T0).gap, b2, 'b was forgotten: a client that had not seen b2 is told it is lost')
  t.same(w.replay('b', b2, T0), { last: b2, gap: null, messages: [] }, 'one that had seen it missed nothing')
  t.equal(w.replay('a', a, T0).gap, null, 'a was published recently: kept')
  t.same(data(w.replay('a', a, T0)), ['a2'])
})

t.test('an id newer than any given gets a gap back to the newest (a clock behind after a restart, or a made-up id)', async t => {
  const w = windowOf()
  const a = w.add('t', Buffer.from('x'), false, T0)
  const r = w.replay('t', `${T0 + 10_000_000}-0`, T0)
  t.same(r, { last: a, gap: a, messages: [] })
})

t.test('a topic over maxMessages for long keeps the queue of all topics bounded', async t => {
  const w = windowOf({ maxMessages: 2 })
  for (let i = 0; i < 20_000; i++) w.add('busy', Buffer.from('x'), false, T0)
  const inside = w as unknown as { queue: unknown[], queueHead: number }
  t.ok(inside.queue.length - inside.queueHead < 3000, `${inside.queue.length - inside.queueHead} entries queued for 2 held`)
  t.equal(w.heldBytes, 2)
})

t.test('resume parameters: bounded in number, one per topic, ids checked', async t => {
  t.same([...parseResume('/ws?resume=1-2%3Aa&resume=3-4:b%3Ac', 5).positions], [['a', '1-2'], ['b:c', '3-4']], 'the topic is everything after the first colon')
  t.equal(parseResume('/ws', 5).valid, true)
  t.equal(parseResume('/ws?resume=1-2:a&resume=1-2:b', 1).valid, false, 'more than maxTopics')
  t.equal(parseResume('/ws?resume=1-2:a&resume=1-3:a', 5).valid, false, 'twice one topic')
  t.equal(parseResume('/ws?resume=abc:a', 5).valid, false, 'not an id')
  t.equal(parseResume(`/ws?resume=${'9'.repeat(16)}-1:a`, 5).valid, false, 'an id part over 15 digits')
  t.equal(parseResume('/ws?resume=a', 5).valid, false, 'no colon')
})
