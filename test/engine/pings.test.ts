import t from 'tap'
import { PingTracker } from '../../lib/engine/pings'

t.test('a pong settles its ping and every older one, with round-trip times', async t => {
  const p = new PingTracker(0, 0, 8, 0)
  const rtts: Array<number | undefined> = []
  const a = p.start(undefined, (_e, rtt) => rtts.push(rtt), 0)
  const b = p.start(undefined, (_e, rtt) => rtts.push(rtt), 10)
  t.not(a.toString('hex'), b.toString('hex'), 'generated payloads differ')
  p.pong(Buffer.from('unknown'), 20)
  t.same(rtts, [], 'unsolicited pong ignored')
  p.pong(b, 25)
  t.same(rtts, [25, 15])
  t.equal(p.latency, 15)
})

t.test('the application may have at most maxPending pings in flight', async t => {
  const p = new PingTracker(0, 0, 2, 0)
  p.start(undefined, null, 0)
  p.start(Buffer.from('x'), null, 0)
  t.throws(() => p.start(undefined, null, 0), { code: 'WS_ERR_PING_LIMIT' })
})

t.test('heartbeats are due every interval, skipped while one is unanswered, and overdue after the timeout', async t => {
  const p = new PingTracker(100, 30, 2, 0)
  t.equal(p.heartbeatDue(99), null)
  const first = p.heartbeatDue(100)
  t.ok(first !== null)
  t.equal(p.heartbeatDue(200), null, 'the previous heartbeat is unanswered')
  t.notOk(p.overdue(129))
  t.ok(p.overdue(130))
  t.notOk(p.overdue(131), 'reported once')
  p.pong(first!, 140)
  t.ok(p.heartbeatDue(300) !== null, 'answered: the next one goes out')
})

t.test('a heartbeat never takes the place of an application ping, and clear() fails the pending ones', async t => {
  const p = new PingTracker(10, 10, 1, 0)
  const errors: string[] = []
  p.start(undefined, err => errors.push(err?.code ?? 'ok'), 0)
  const hb = p.heartbeatDue(10)
  t.ok(hb !== null, 'the heartbeat goes out although the application is at its limit')
  p.pong(hb!, 14)
  t.equal(p.latency, 4, 'the heartbeat measures the round-trip time too')
  p.clear(Object.assign(new Error('x'), { code: 'WS_ERR_CONNECTION_CLOSED' }) as never)
  t.same(errors, ['WS_ERR_CONNECTION_CLOSED'], 'the application ping is settled, never dropped silently')
  t.equal(p.heartbeatDue(1000), null, 'cleared: no more heartbeats')
})
