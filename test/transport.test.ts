// The process-wide transport machinery: shared stream listeners that find their owner through a
// symbol, one flush per tick for every scheduled owner, and one ticker for all deadlines.
import t from 'tap'
import type { Socket } from 'node:net'
import { duplexPair } from 'node:stream'
import { attach, detach, scheduleFlush, startTicking, stopTicking, TICK_MS, type TransportOwner } from '../lib/transport'
import { kStreamOwner } from '../lib/symbols'
import { waitEvent, waitFor, sleep, tcpPair } from './helpers/app'
import { sharedReadStatus } from '../lib/shared-read'

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

// The fallback runs of the suite (FASTIFY_RFC6455_SHARED_READS=0) have no shared-buffer reads.
const sharedReadsOff = process.env.FASTIFY_RFC6455_SHARED_READS === '0'

t.test('with shared reads turned off, a TCP socket keeps a data listener and sharedReadStatus says why', { skip: !sharedReadsOff }, async t => {
  const [a, b] = await tcpPair(t)
  const owner = new RecordingOwner()
  t.equal(attach(a, owner), false)
  a.resume()
  t.same(sharedReadStatus(), { enabled: false, reason: 'FASTIFY_RFC6455_SHARED_READS=0' })
  b.write('hello')
  await waitFor(() => owner.events.length === 1, 2000)
  t.same(owner.events, ['data:hello'])
})

t.test('the sharedReads argument false keeps a TCP socket on data events', async t => {
  const [a, b] = await tcpPair(t)
  const owner = new RecordingOwner()
  t.equal(attach(a, owner, false), false)
  t.equal(a.listenerCount('data'), 1)
  a.resume()
  b.write('plain')
  await waitFor(() => owner.events.length === 1, 2000)
  t.same(owner.events, ['data:plain'])
})

t.test('attached TCP streams read into one shared buffer and report data, end, drain and close to their owner', { skip: sharedReadsOff }, async t => {
  const [a, b] = await tcpPair(t)
  const owner = new RecordingOwner()
  const chunks: Buffer[] = []
  owner._onData = chunk => { chunks.push(chunk); owner.events.push(`data:${chunk.toString()}`) }
  t.equal(attach(a, owner), true, 'a plain TCP socket reads into the shared buffer')
  a.resume() // attach never starts reading: the socket's read gate does
  t.equal((a as Socket & { [kStreamOwner]?: TransportOwner })[kStreamOwner], owner)
  t.equal(a.listenerCount('data'), 0, 'no data listener: bytes skip the Readable machinery')
  const other = new RecordingOwner()
  const otherChunks: Buffer[] = []
  other._onData = chunk => { otherChunks.push(chunk) }
  const [c, d] = await tcpPair(t)
  t.equal(attach(c, other), true)
  c.resume()

  b.write('hello')
  await waitFor(() => owner.events.length === 1, 2000)
  t.same(owner.events, ['data:hello'])
  d.write('x')
  await waitFor(() => otherChunks.length === 1, 2000)
  t.equal(otherChunks[0].buffer, chunks[0].buffer, 'both connections read into the same memory')

  // pause() stops the handle reading; resume() starts it again, nothing lost
  a.pause()
  b.write('while paused')
  await sleep(50)
  t.equal(owner.events.length, 1, 'nothing delivered while paused')
  a.resume()
  await waitFor(() => owner.events.length === 2, 2000, 'data after resume')
  t.equal(owner.events[1], 'data:while paused')

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

t.test('streams without a TCP handle, or with bytes already buffered, keep one shared data listener', async t => {
  const [left, right] = duplexPair()
  const owner = new RecordingOwner()
  t.equal(attach(left, owner), false, 'an in-memory stream has no handle to read into')
  left.resume()
  const listener = left.listeners('data')[0]
  t.type(listener, 'function')
  right.write('over the pair')
  await waitFor(() => owner.events.length === 1, 2000)
  t.same(owner.events, ['data:over the pair'])

  const [a, b] = await tcpPair(t)
  a.pause()
  b.write('early')
  await waitFor(() => a.readableLength > 0, 2000, 'bytes buffered in the stream')
  const late = new RecordingOwner()
  t.equal(attach(a, late), false, 'buffered bytes would be overtaken: the socket stays on data events')
  t.equal(a.listeners('data')[0], listener, 'the same function serves every stream')
  a.resume() // paused explicitly above: a data listener alone does not restart the flow
  await waitFor(() => late.events.length === 1, 2000)
  t.same(late.events, ['data:early'])
  left.destroy()
  right.destroy()
})

t.test('errors reach the owner; after detach, data goes nowhere and a late error is still caught', async t => {
  const [a, b] = await tcpPair(t)
  const owner = new RecordingOwner()
  const names = ['data', 'end', 'drain', 'error', 'close'] as const
  const baseline = names.map(n => a.listenerCount(n))
  attach(a, owner)
  const dataListeners = sharedReadsOff ? 1 : 0
  t.same(names.map(n => a.listenerCount(n)), [baseline[0] + dataListeners, ...baseline.slice(1).map(c => c + 1)],
    sharedReadsOff ? 'one listener per event' : 'one listener per event, none for data')
  a.emit('error', new Error('boom'))
  t.same(owner.events, ['error:boom'])
  detach(a)
  t.same(names.map(n => a.listenerCount(n)), [baseline[0], baseline[1], baseline[2], baseline[3] + 1, baseline[4] + 1],
    'end and drain listeners removed; error and close stay')
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
