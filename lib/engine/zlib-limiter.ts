// Process-wide throttling of zlib work for permessage-deflate (RFC 7692).
//
// Node runs every asynchronous zlib call on libuv's thread pool (4 threads by default), shared
// with fs and dns. Thousands of sockets compressing at once would queue unbounded work there
// and fragment memory badly (nodejs/node#8871, websockets/ws#1202), so every codec in the
// process submits its jobs to one limiter per concurrency setting. Jobs start in FIFO order.
//
// A `ZlibLane` sits in front of the limiter for one direction of one codec: it has at most one
// job submitted at a time, so that the jobs of one socket complete in the order they were
// given (one zlib stream cannot interleave two messages) while other sockets' jobs proceed.

/** A unit of zlib work. It MUST call `done` exactly once when it no longer uses zlib. */
export type LimitedJob = (done: () => void) => void

export const DEFAULT_ZLIB_CONCURRENCY = 10

export class ZlibLimiter {
  readonly concurrency: number
  private readonly queue: Array<LimitedJob | undefined> = []
  private head = 0
  private active = 0
  private draining = false

  constructor (concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer')
    this.concurrency = concurrency
  }

  /** Jobs started and not yet done. */
  get running (): number { return this.active }

  /** Jobs waiting for a slot. */
  get pending (): number { return this.queue.length - this.head }

  add (job: LimitedJob): void {
    this.queue.push(job)
    this.drain()
  }

  // A job that finishes synchronously calls `done` while `drain` is still looping: the loop,
  // not a nested call, starts the next job, so a long queue cannot grow the stack.
  private drain (): void {
    if (this.draining) return
    this.draining = true
    while (this.active < this.concurrency && this.head < this.queue.length) {
      const job = this.queue[this.head] as LimitedJob
      this.queue[this.head++] = undefined
      this.compact()
      this.active++
      let released = false
      job(() => {
        if (released) return
        released = true
        this.active--
        this.drain()
      })
    }
    this.draining = false
  }

  private compact (): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}

const shared = new Map<number, ZlibLimiter>()

/**
 * The limiter every codec configured with `concurrency` shares (one per distinct value, so
 * that a route with its own setting does not change the others').
 */
export function sharedZlibLimiter (concurrency: number = DEFAULT_ZLIB_CONCURRENCY): ZlibLimiter {
  let limiter = shared.get(concurrency)
  if (limiter === undefined) {
    limiter = new ZlibLimiter(concurrency)
    shared.set(concurrency, limiter)
  }
  return limiter
}

/**
 * Runs items one at a time through a limiter, in the order they were pushed. The worker gets
 * each item and a `finish` to call once (later calls are ignored); the next item is submitted
 * only then, at the back of the shared queue, so one busy socket cannot starve the others.
 */
export class ZlibLane<T> {
  private readonly items: T[] = []
  private head = 0
  private current: T | undefined = undefined
  private release: (() => void) | null = null

  constructor (private readonly limiter: ZlibLimiter, private readonly worker: (item: T, finish: () => void) => void) {}

  /** Items waiting or in progress. */
  get size (): number { return this.items.length - this.head + (this.current === undefined ? 0 : 1) }

  push (item: T): void {
    this.items.push(item)
    if (this.current === undefined) this.next()
  }

  /**
   * Forget every item: the one in progress (its limiter slot is freed now, and its `finish`
   * becomes a no-op) and the waiting ones. Returns them in order so the owner can fail them.
   */
  clear (): T[] {
    const dropped: T[] = []
    if (this.current !== undefined) dropped.push(this.current)
    for (let i = this.head; i < this.items.length; i++) dropped.push(this.items[i])
    this.items.length = 0
    this.head = 0
    this.current = undefined
    const release = this.release
    this.release = null
    if (release !== null) release()
    return dropped
  }

  private next (): void {
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
      return
    }
    const item = this.items[this.head]
    this.items[this.head++] = undefined as unknown as T
    this.current = item
    this.limiter.add(done => {
      // cleared while waiting for a slot: give the slot straight back
      if (this.current !== item) { done(); return }
      this.release = done
      this.worker(item, () => {
        if (this.current !== item || this.release !== done) return
        this.current = undefined
        this.release = null
        done()
        this.next()
      })
    })
  }
}
