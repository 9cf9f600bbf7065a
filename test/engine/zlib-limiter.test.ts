import t from 'tap'
import { ZlibLimiter, ZlibLane, sharedZlibLimiter, DEFAULT_ZLIB_CONCURRENCY } from '../../lib/engine/zlib-limiter'

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('jobs start in FIFO order and never more than the concurrency at once', async t => {
  const limiter = new ZlibLimiter(2)
  const started: number[] = []
  const dones: Array<() => void> = []
  for (let i = 0; i < 5; i++) limiter.add(done => { started.push(i); dones.push(done) })
  t.same(started, [0, 1])
  t.equal(limiter.running, 2)
  t.equal(limiter.pending, 3)
  dones[1]()
  t.same(started, [0, 1, 2])
  dones[1]() // a second call of the same done is ignored
  t.equal(limiter.running, 2)
  dones[0]()
  dones[2]()
  t.same(started, [0, 1, 2, 3, 4])
  dones[3]()
  dones[4]()
  t.equal(limiter.running, 0)
  t.equal(limiter.pending, 0)
})

t.test('a long queue of jobs finishing synchronously runs without growing the stack', async t => {
  const limiter = new ZlibLimiter(1)
  let blocker: () => void = () => {}
  limiter.add(done => { blocker = done })
  let ran = 0
  for (let i = 0; i < 100_000; i++) limiter.add(done => { ran++; done() })
  t.equal(limiter.pending, 100_000)
  blocker()
  t.equal(ran, 100_000)
  t.equal(limiter.pending, 0)
  t.equal(limiter.running, 0)
})

t.test('jobs queued while the queue is being compacted keep their order', async t => {
  const limiter = new ZlibLimiter(1)
  const order: number[] = []
  const dones: Array<() => void> = []
  for (let i = 0; i < 3000; i++) limiter.add(done => { order.push(i); dones.push(done) })
  for (let i = 0; i < 2000; i++) dones[i]()
  for (let i = 3000; i < 3100; i++) limiter.add(done => { order.push(i); done() })
  for (let i = 2000; i < 3000; i++) dones[i]()
  t.same(order, Array.from({ length: 3100 }, (_, i) => i))
})

t.test('invalid concurrency is refused', async t => {
  t.throws(() => new ZlibLimiter(0), RangeError)
  t.throws(() => new ZlibLimiter(1.5), RangeError)
})

t.test('one shared limiter per concurrency value', async t => {
  t.equal(sharedZlibLimiter(), sharedZlibLimiter(DEFAULT_ZLIB_CONCURRENCY))
  t.equal(sharedZlibLimiter(3), sharedZlibLimiter(3))
  t.not(sharedZlibLimiter(3), sharedZlibLimiter(4))
  t.equal(sharedZlibLimiter(3).concurrency, 3)
})

t.test('a lane runs its items one at a time in order, while other lanes share the limiter', async t => {
  const limiter = new ZlibLimiter(2)
  const log: string[] = []
  const finishes = new Map<string, () => void>()
  const lane = (name: string): ZlibLane<number> => new ZlibLane<number>(limiter, (n, finish) => { log.push(`${name}${n}`); finishes.set(`${name}${n}`, finish) })
  const a = lane('a')
  const b = lane('b')
  a.push(1); a.push(2); b.push(1); b.push(2)
  t.same(log, ['a1', 'b1'], 'one item per lane at a time')
  t.equal(a.size, 2)
  finishes.get('a1')?.()
  finishes.get('a1')?.() // ignored
  t.same(log, ['a1', 'b1', 'a2'])
  finishes.get('b1')?.()
  t.same(log, ['a1', 'b1', 'a2', 'b2'])
  finishes.get('a2')?.()
  finishes.get('b2')?.()
  t.equal(a.size + b.size, 0)
  t.equal(limiter.running, 0)
})

t.test('clearing a lane returns its items in order, frees the slot, and makes the old finish a no-op', async t => {
  const limiter = new ZlibLimiter(1)
  const started: number[] = []
  let finish: () => void = () => {}
  const lane = new ZlibLane<number>(limiter, (n, f) => { started.push(n); finish = f })
  for (let i = 0; i < 4; i++) lane.push(i)
  t.same(lane.clear(), [0, 1, 2, 3])
  t.equal(limiter.running, 0)
  lane.push(10)
  t.same(started, [0, 10])
  const stale = finish
  t.same(lane.clear(), [10])
  stale()
  t.equal(limiter.running, 0)
  t.same(lane.clear(), [])
})

t.test('an item cleared while waiting for a slot gives the slot straight back', async t => {
  const limiter = new ZlibLimiter(1)
  let release: () => void = () => {}
  limiter.add(done => { release = done })
  const started: number[] = []
  const lane = new ZlibLane<number>(limiter, (n, f) => { started.push(n); f() })
  lane.push(1)
  t.same(lane.clear(), [1])
  lane.push(2)
  release()
  await tick()
  t.same(started, [2], 'the cleared item never ran')
  t.equal(limiter.running, 0)
})
