// The deadlines of the upgrades waiting for their 101 (handshakeTimeout): one list and one timer
// per plugin instead of a timer per upgrade.

/** What the list keeps in each entry (a pending upgrade: upgrade.ts). */
export interface DeadlineEntry<P> {
  /** when the timeout runs out (performance.now() ms); in the list until then */
  deadline: number
  /** neighbours in the list; null at either end or once out of it */
  prev: P | null
  next: P | null
  /** in the list: neither complete nor timed out nor closed */
  waiting: boolean
}

/**
 * One timer for every pending upgrade of a plugin instead of a setTimeout (and a clearTimeout)
 * per upgrade: they all wait the same handshakeTimeout, so the order they arrive in is the order
 * their deadlines fall in, and a doubly linked list (O(1) to append and to unlink) kept in that
 * order needs one timer, for its head. The timer is unref'd: a pending socket keeps the process
 * alive by itself, and an empty list must not.
 */
export class HandshakeDeadlines<P extends DeadlineEntry<P>> {
  private head: P | null = null
  private tail: P | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly timeout: number
  private readonly expire: () => void
  private readonly onExpired: (entry: P) => void

  constructor (timeout: number, onExpired: (entry: P) => void) {
    this.timeout = timeout
    this.onExpired = onExpired
    this.expire = () => this.onTimer()
  }

  add (pending: P): void {
    pending.deadline = performance.now() + this.timeout
    pending.waiting = true
    pending.prev = this.tail
    pending.next = null
    if (this.tail === null) this.head = pending
    else this.tail.next = pending
    this.tail = pending
    if (this.timer === null) this.arm(this.timeout)
  }

  remove (pending: P): void {
    if (!pending.waiting) return
    pending.waiting = false
    const { prev, next } = pending
    if (prev === null) this.head = next
    else prev.next = next
    if (next === null) this.tail = prev
    else next.prev = prev
    pending.prev = null
    pending.next = null
  }

  private arm (ms: number): void {
    this.timer = setTimeout(this.expire, Math.max(1, Math.ceil(ms)))
    this.timer.unref()
  }

  private onTimer (): void {
    this.timer = null
    // libuv's clock is read once per loop turn: allow the millisecond a timer may fire early by
    const now = performance.now() + 1
    let pending = this.head
    while (pending !== null && pending.deadline <= now) {
      this.remove(pending)
      this.onExpired(pending)
      pending = this.head
    }
    if (pending !== null) this.arm(pending.deadline - now + 1)
  }
}
