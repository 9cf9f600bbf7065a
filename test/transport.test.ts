// The process-wide transport machinery: shared stream listeners that find their owner through a
// symbol, one flush per tick for every scheduled owner, and one ticker for all deadlines.
import t, { type Test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { attach, detach, scheduleFlush, startTicking, stopTicking, kWebSocket, TICK_MS, type TransportOwner } from '../lib/transport'
import { waitEvent, waitFor, sleep } from './helpers/app'

class RecordingOwner implements TransportOwner {
  readonly events: string[] = []
  readonly ticks: number[] = []
  flushes = 0
  _onData (chunk: Buffer): void { this.events.push(`data:${chunk.toString()}`) }
  _onEnd (): void { this.events.push('end') }
  _onClose (): void { this.events.push('close') }
  _onError (err: Error): void { this.events.push(`error:${err.message}`) }
  _onDrain (): void { this.events.push('drain') }
  _flush (): void { this.flushes++ }
  _tick (now: number): void { this.ticks.push(now) }
}

async function tcpPair (t: Test): Promise<[Socket, Socket]> {
  const listener = createServer()
  await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
  t.teardown(() => listener.close())
  const accepted = waitEvent<[Socket]>(listener, 'connection')
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1')
  await waitEvent(client, 'connect')
  const [server] = await accepted
  t.teardown(() => { server.destroy(); client.destroy() })
  return [server, client]
}

t.test('attached streams report data, end, drain and close to their owner through shared listeners', async t => {
  const [a, b] = await tcpPair(t)
  const owner = new RecordingOwner()
  attach(a, owner)
  t.equal((a as Socket & { [kWebSocket]?: TransportOwner })[kWebSocket], owner)
  const listener = a.listeners('data')[0]
  const other = new RecordingOwner()
  const [c] = await tcpPair(t)
  attach(c, other)
  t.equal(c.listeners('data')[0], listener, 'the same function serves every stream')

  b.write('hello')
  await waitFor(() => owner.events.length === 1, 2000)
  t.same(owner.events, ['data:hello'])
  // fill the kernel buffers so that a write returns false, then let the peer read: drain
  b.pause()
  while (a.write(Buffer.alloc(1 << 20))) { /* until the stream is over its high-water mark */ }
  b.resume()
  await waitFor(() => owner.events.includes('drain'), 5000, 'drain')
  b.end()
  await waitFor(() => owner.events.includes('end'), 2000, 'end')
  a.destroy()
  await waitFor(() => owner.events.includes('close'), 2000, 'close')
  t.same(owner.events.filter(e => !e.startsWith('data')), ['drain', 'end', 'close'])
  t.same(other.events, [], 'another owner heard nothing')
})

t.test('errors reach the owner; after detach, data goes nowhere and a late error is still caught', async t => {
  const [a, b] = await tcpPair(t)
  const owner = new RecordingOwner()
  const names = ['data', 'end', 'drain', 'error', 'close'] as const
  const baseline = names.map(n => a.listenerCount(n))
  attach(a, owner)
  t.same(names.map(n => a.listenerCount(n)), baseline.map(c => c + 1), 'one listener per event')
  a.emit('error', new Error('boom'))
  t.same(owner.events, ['error:boom'])
  detach(a)
  t.same(names.map(n => a.listenerCount(n)), [baseline[0], baseline[1], baseline[2], baseline[3] + 1, baseline[4] + 1],
    'data, end and drain listeners removed; error and close stay')
  t.doesNotThrow(() => a.emit('error', new Error('late')), 'a late error does not become an uncaught exception')
  a.resume()
  b.write('ignored')
  await sleep(50)
  b.destroy()
  await waitEvent(a, 'close')
  t.same(owner.events, ['error:boom'], 'nothing reached the detached owner')
})

t.test('every owner scheduled in one turn is flushed once, on the next tick', async t => {
  const owners = [new RecordingOwner(), new RecordingOwner(), new RecordingOwner()]
  for (const o of owners) scheduleFlush(o)
  t.same(owners.map(o => o.flushes), [0, 0, 0], 'nothing flushed synchronously')
  await new Promise(resolve => process.nextTick(resolve))
  t.same(owners.map(o => o.flushes), [1, 1, 1])
  scheduleFlush(owners[0])
  await new Promise(resolve => process.nextTick(resolve))
  t.same(owners.map(o => o.flushes), [2, 1, 1], 'a later turn schedules a new flush')
})

t.test('one ticker drives every ticking owner until it stops', async t => {
  const a = new RecordingOwner()
  const b = new RecordingOwner()
  const before = performance.now()
  startTicking(a)
  startTicking(b)
  await waitFor(() => a.ticks.length >= 2 && b.ticks.length >= 2, TICK_MS * 10, 'two ticks')
  t.ok(a.ticks[0] >= before, 'ticks carry performance.now()')
  t.ok(a.ticks[1] - a.ticks[0] >= TICK_MS * 0.5, 'about TICK_MS apart')
  stopTicking(a)
  const aCount = a.ticks.length
  await waitFor(() => b.ticks.length >= aCount + 2, TICK_MS * 10, 'b keeps ticking')
  t.equal(a.ticks.length, aCount, 'a stopped')
  stopTicking(b)
  const bCount = b.ticks.length
  await sleep(TICK_MS * 2.5)
  t.equal(b.ticks.length, bCount, 'no ticks once nobody ticks')
  // ticking again restarts the shared timer
  startTicking(a)
  await waitFor(() => a.ticks.length > aCount, TICK_MS * 10, 'restarted')
  stopTicking(a)
})
